package httpapi

import (
	"context"
	"net/http"

	"github.com/chanfitness/chanfitness/core"
)

// serveTimeline answers GET /v1/timeline?peer=&window=: the segments of
// one peer, or of every peer the report lists, over the window (lifetime
// when left out). Its query is the report's.
func serveTimeline(w http.ResponseWriter, r *http.Request, m Monitor) {
	q, err := ParseReportQuery(r.URL.RawQuery)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorBody{err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	tl, err := m.Timeline(ctx, core.TimelineQuery{Peer: q.Peer,
		Window: q.Window})
	if err != nil {
		writeJSON(w, statusOf(err), ErrorBody{err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, tl)
}
