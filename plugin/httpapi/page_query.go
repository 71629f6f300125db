package httpapi

import (
	"cmp"
	"slices"

	"github.com/chanfitness/chanfitness/core"
)

var sortColumns = []string{SortPeer, SortState, SortUptime, SortFlaps,
	SortOutage, SortChannels, SortVerdict}

// pageQuery is a parsed query of the page.
type pageQuery struct {
	window string
	opts   PageOptions
}

// parsePageQuery reads the page's query: window as in the report, sort
// (a column), order (asc or desc) and open (1: only peers with an open
// channel, 0: all).
func parsePageQuery(rawQuery string) (pageQuery, error) {
	var rq core.ReportQuery
	q := pageQuery{window: DefaultPageWindow}
	err := parseQuery(rawQuery, []string{ParamWindow, ParamSort,
		ParamOrder, ParamOpen}, func(key, value string) error {

		switch key {
		case ParamWindow:
			if err := setReportParam(&rq, key, value); err != nil {
				return err
			}
			q.window = rq.Window
		case ParamSort:
			if !slices.Contains(sortColumns, value) {
				return badValue(key, value, orList(sortColumns))
			}
			q.opts.Sort = value
		case ParamOrder:
			if value != "asc" && value != "desc" {
				return badValue(key, value, "asc or desc")
			}
			q.opts.Desc = value == "desc"
		case ParamOpen:
			if value != "0" && value != "1" {
				return badValue(key, value, "0 or 1")
			}
			q.opts.OpenOnly = value == "1"
		}
		return nil
	})
	return q, err
}

// badValue is the error of a query parameter's value outside its set.
func badValue(key, value, want string) error {
	return &badInput{"query parameter " + key + ": " +
		core.ErrBadInput.Error() + ": " + core.Quote(value) +
		" (want " + want + ")"}
}

// badInput is an error message that wraps core.ErrBadInput.
type badInput struct{ msg string }

func (e *badInput) Error() string { return e.msg }

func (e *badInput) Unwrap() error { return core.ErrBadInput }

// sortRows sorts rows by column col (ties by peer id).
func sortRows(rows []pageRow, col string, desc bool) {
	slices.SortStableFunc(rows, func(a, b pageRow) int {
		c := 0
		switch col {
		case SortState:
			c = cmp.Compare(stateKey(a.p), stateKey(b.p))
		case SortUptime:
			c = cmp.Compare(ratioKey(a.win.UptimeRatio),
				ratioKey(b.win.UptimeRatio))
		case SortFlaps:
			c = cmp.Compare(a.p.FlapCount, b.p.FlapCount)
		case SortOutage:
			c = cmp.Compare(a.win.LongestOutageSeconds,
				b.win.LongestOutageSeconds)
		case SortChannels:
			c = cmp.Compare(a.p.OpenChannels, b.p.OpenChannels)
		case SortVerdict:
			c = cmp.Compare(verdictKey(a.p), verdictKey(b.p))
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = cmp.Compare(a.p.PeerID, b.p.PeerID)
		}
		return c
	})
}

// stateKey orders offline peers first, each by how long they have been
// in their state (longest first).
func stateKey(p *core.PeerReport) float64 {
	since := float64(p.Since.Unix())
	if p.Since.IsZero() {
		since = 0
	}
	if p.Online {
		return 1e11 + since
	}
	return since
}

func ratioKey(r *float64) float64 {
	if r == nil {
		return -1
	}
	return *r
}
