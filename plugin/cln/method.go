package cln

import (
	"encoding/json"

	"github.com/elementsproject/glightning/glightning"
	"github.com/elementsproject/glightning/jrpc2"
)

// reportMethod is the chanfitness method as glightning sees it. The
// exported fields come first (glightning fills them in order); their
// omitempty tags make glightning's usage string "[peer_id] [window]".
// The runner has validated and canonicalized the params before they get
// here, so glightning's own parsing only ever sees two strings.
type reportMethod struct {
	PeerID string `json:"peer_id,omitempty"`
	Window string `json:"window,omitempty"`

	r *runner
}

func newReportMethod(r *runner) *glightning.RpcMethod {
	m := glightning.NewRpcMethod(&reportMethod{r: r},
		"Channel fitness: uptime, lifetime and flap counts of "+
			"channels and peers")
	m.LongDesc = "Reports each channel's lifetime, uptime and uptime " +
		"ratio over 1d, 7d, 30d and its lifetime, and each peer's " +
		"state, flap count and longest outage. peer_id limits the " +
		"report to one peer; window (1d, 7d, 30d, lifetime or a " +
		"duration such as 12h) picks the headline window."
	return m
}

// Name implements jrpc2.Method.
func (m *reportMethod) Name() string {
	return methodName
}

// New implements jrpc2.ServerMethod.
func (m *reportMethod) New() any {
	return &reportMethod{r: m.r}
}

// Call implements jrpc2.ServerMethod.
func (m *reportMethod) Call() (jrpc2.Result, error) {
	raw, err := json.Marshal([]string{m.PeerID, m.Window})
	if err != nil {
		return nil, err
	}
	args, err := parseReportArgs(raw)
	if err != nil {
		return nil, err
	}
	s := m.r.instance()
	if s == nil {
		return nil, errNotRunning
	}
	rep, err := s.mon.Report(m.r.runCtx, args.query())
	if err != nil {
		return nil, err
	}
	return rep, nil
}
