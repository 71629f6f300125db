package cln

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/postgres"
	"github.com/elementsproject/glightning/glightning"
	"github.com/elementsproject/glightning/jrpc2"
)

// fleetMethodName is the method that returns the fleet view, the JSON
// of the HTTP server's /v1/fleet.
const fleetMethodName = "chanfitness-fleet"

// errNoFleet answers chanfitness-fleet on another store than postgres.
var errNoFleet = errors.New(fleetMethodName + " needs " + optStore +
	"=postgres: only there do several nodes share a history")

// openFleet prepares the fleet view of the postgres store's database
// (it connects on the first call); nothing on another store.
func (s *instance) openFleet(set settings) error {
	if set.Store != storePostgres {
		return nil
	}
	var err error
	s.fleet, err = postgres.NewFleetReader(set.PostgresDSN, 0)
	return err
}

// fleetMethod is chanfitness-fleet as glightning sees it; its usage
// string is "[window]". The runner has checked the params.
type fleetMethod struct {
	Window string `json:"window,omitempty"`

	r *runner
}

func newFleetMethod(r *runner) *glightning.RpcMethod {
	m := glightning.NewRpcMethod(&fleetMethod{r: r},
		"Fleet view: each peer as seen from every node of ours "+
			"sharing the PostgreSQL database")
	m.LongDesc = "With " + optStore + "=postgres, lists our nodes in " +
		"the database and each peer with its availability (the " +
		"union of our nodes' views) and each link's, over 1d, 7d " +
		"and 30d; window (lifetime or a duration such as 12h) " +
		"adds one."
	return m
}

// Name implements jrpc2.Method.
func (m *fleetMethod) Name() string {
	return fleetMethodName
}

// New implements jrpc2.ServerMethod.
func (m *fleetMethod) New() any {
	return &fleetMethod{r: m.r}
}

// Call implements jrpc2.ServerMethod.
func (m *fleetMethod) Call() (jrpc2.Result, error) {
	s := m.r.instance()
	if s == nil {
		return nil, errNotRunning
	}
	if s.fleet == nil {
		return nil, errNoFleet
	}
	var extra []core.Window
	if m.Window != "" {
		w, err := core.ParseWindow(m.Window)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", paramWindow, err)
		}
		extra = append(extra, w)
	}
	return s.fleet.View(m.r.runCtx, m.r.cfg.Clock.Now(), extra...)
}

// parseFleetParams reads chanfitness-fleet's params (nothing, [window]
// or {"window": ...}) and returns the canonical params for glightning.
func parseFleetParams(params json.RawMessage) (json.RawMessage, error) {
	usage := fmt.Sprintf("usage: %s [%s]", fleetMethodName, paramWindow)
	var window json.RawMessage
	p := bytes.TrimSpace(params)
	switch {
	case len(p) == 0 || isNull(p):

	case p[0] == '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(p, &arr); err != nil {
			return nil, fmt.Errorf("params %s: %w", jsonText(p), err)
		}
		if len(arr) > 1 {
			return nil, fmt.Errorf("too many parameters: got %d, "+
				"want at most 1 (%s)", len(arr), usage)
		}
		if len(arr) == 1 {
			window = arr[0]
		}

	case p[0] == '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(p, &obj); err != nil {
			return nil, fmt.Errorf("params %s: %w", jsonText(p), err)
		}
		var unknown []string
		for k, v := range obj {
			if k == paramWindow {
				window = v
				continue
			}
			unknown = append(unknown, k)
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return nil, fmt.Errorf("unknown parameter %s (%s)",
				quoteNames(unknown), usage)
		}

	default:
		return nil, fmt.Errorf("params %s: want an array or an object",
			jsonText(p))
	}
	s, err := argString(paramWindow, window)
	if err != nil {
		return nil, err
	}
	if s != "" {
		if _, err := core.ParseWindow(s); err != nil {
			return nil, fmt.Errorf("%s: %w", paramWindow, err)
		}
	}
	return json.Marshal([]string{s})
}
