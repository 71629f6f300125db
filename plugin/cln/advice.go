package cln

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/chanfitness/chanfitness/alert"
	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/internal/table"
	"github.com/chanfitness/chanfitness/plugin/internal/advice"
	"github.com/elementsproject/glightning/glightning"
	"github.com/elementsproject/glightning/jrpc2"
)

// adviceMethodName is the method that lists the peers' verdicts.
const adviceMethodName = "chanfitness-advice"

// alertTopic is the custom notification every alert is sent as, with
// the alert in an object named after the topic, as lightningd's own
// notifications carry theirs.
const alertTopic = "chanfitness_alert"

// startAdvice starts the export and the alerts of s; the alerts always
// go out as chanfitness_alert notifications too.
func (r *runner) startAdvice(s *instance, set advice.Settings) error {
	m, ok := s.mon.(advice.Source)
	if !ok {
		// A stand-in monitor of a test.
		return nil
	}
	notify := &alert.Func{SinkName: "cln", Fn: func(_ context.Context,
		body []byte) error {

		return r.out.notify(alertTopic, map[string]json.RawMessage{
			alertTopic: body})
	}}
	var err error
	s.adv, err = advice.Start(r.runCtx, set, m, r.cfg.Clock, r.log,
		notify)
	return err
}

// adviceMethod is chanfitness-advice as glightning sees it; its usage
// string is "[peer_id]". The runner has checked the params.
type adviceMethod struct {
	PeerID string `json:"peer_id,omitempty"`

	r *runner
}

// adviceResult is what chanfitness-advice returns: the advice, worst
// first, and the same as aligned lines of text.
type adviceResult struct {
	Advice []core.Advice `json:"advice"`
	Lines  []string      `json:"lines"`
}

func newAdviceMethod(r *runner) *glightning.RpcMethod {
	m := glightning.NewRpcMethod(&adviceMethod{r: r},
		"Channel fitness advice: each peer's verdict and why, worst "+
			"first")
	m.LongDesc = "Lists every peer (or peer_id alone) with its " +
		"verdict (consider_closing, watch, too_new, ok) and the " +
		"reasons for it, worst first. Advice only: nothing is done " +
		"to any channel."
	return m
}

// Name implements jrpc2.Method.
func (m *adviceMethod) Name() string {
	return adviceMethodName
}

// New implements jrpc2.ServerMethod.
func (m *adviceMethod) New() any {
	return &adviceMethod{r: m.r}
}

// Call implements jrpc2.ServerMethod.
func (m *adviceMethod) Call() (jrpc2.Result, error) {
	s := m.r.instance()
	if s == nil {
		return nil, errNotRunning
	}
	var q core.ReportQuery
	if m.PeerID != "" {
		p, err := core.ParsePeerID(m.PeerID)
		if err != nil {
			return nil, err
		}
		q.Peer = &p
	}
	rep, err := s.mon.Report(m.r.runCtx, q)
	if err != nil {
		return nil, err
	}
	adv := core.AdviceOf(rep)
	return adviceResult{Advice: adv, Lines: table.AdviceLines(adv)}, nil
}

// parseAdviceParams reads chanfitness-advice's params as the
// chanfitness method's, allowing only peer_id, and returns the canonical
// params for glightning.
func parseAdviceParams(params json.RawMessage) (json.RawMessage, error) {
	args, err := parseReportArgs(params)
	if err != nil {
		return nil, err
	}
	if args.Window != core.WindowLifetime {
		return nil, fmt.Errorf("%s takes only %s (usage: %s [%s])",
			adviceMethodName, paramPeerID, adviceMethodName,
			paramPeerID)
	}
	peer := ""
	if args.Peer != nil {
		peer = args.Peer.String()
	}
	return json.Marshal([]string{peer})
}
