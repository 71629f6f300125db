package core

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Advice is one peer's line of advice: its verdict and why.
type Advice struct {
	PeerID       string   `json:"peer_id"`
	Verdict      string   `json:"verdict"`
	Online       bool     `json:"online"`
	Since        Time     `json:"since"`
	OpenChannels int      `json:"open_channels"`
	Why          string   `json:"why"`
	Reasons      []Reason `json:"reasons"`
}

// AdviceOf returns the advice of every peer in r, worst first:
// consider_closing, watch, too_new, ok; within a verdict, lowest uptime
// over the report's window first, then by peer id. Why joins the
// reasons' texts, and says when a peer to act on is offline now, since
// a channel is not to be closed while its peer is away.
func AdviceOf(r Report) []Advice {
	out := make([]Advice, 0, len(r.Peers))
	up := make(map[string]float64, len(r.Peers))
	for _, p := range r.Peers {
		texts := make([]string, 0, len(p.Reasons)+1)
		for _, rs := range p.Reasons {
			texts = append(texts, rs.Text)
		}
		if !p.Online && (p.Verdict == VerdictWatch ||
			p.Verdict == VerdictConsiderClosing) {

			texts = append(texts, fmt.Sprintf("offline now (since "+
				"%s): wait until it is back before closing",
				p.Since.UTC().Format("2006-01-02 15:04")))
		}
		u := 2.0 // no figure: after every figure
		if w, ok := p.Windows[Window30d]; ok && w.UptimeRatio != nil {
			u = *w.UptimeRatio
		}
		up[p.PeerID] = u
		out = append(out, Advice{
			PeerID:       p.PeerID,
			Verdict:      p.Verdict,
			Online:       p.Online,
			Since:        p.Since,
			OpenChannels: p.OpenChannels,
			Why:          strings.Join(texts, "; "),
			Reasons:      p.Reasons,
		})
	}
	slices.SortStableFunc(out, func(a, b Advice) int {
		if c := CompareVerdicts(a.Verdict, b.Verdict); c != 0 {
			return c
		}
		if c := cmp.Compare(up[a.PeerID], up[b.PeerID]); c != 0 {
			return c
		}
		return strings.Compare(a.PeerID, b.PeerID)
	})
	return out
}
