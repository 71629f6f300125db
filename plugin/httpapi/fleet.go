package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/fleet"
)

// PathFleet is the fleet view: each peer as seen from every node of ours
// that keeps its history in the same PostgreSQL database.
const PathFleet = "/v1/fleet"

// FleetFunc computes the fleet view at now, over the fleet's windows and
// extra ones.
type FleetFunc func(ctx context.Context, now time.Time,
	extra ...core.Window) (fleet.Report, error)

// errNoFleet answers PathFleet on a front end without a shared database.
var errNoFleet = errors.New("the fleet view needs the postgres store " +
	"(--store=postgres, or chanfitness-store=postgres on Core " +
	"Lightning): only there do several nodes share a history")

// withFleet serves PathFleet from f (or says why there is none) and
// everything else from h, with the token (when there is one) on
// PathFleet as on h's paths.
func withFleet(h http.Handler, f FleetFunc, now func() time.Time,
	token string) http.Handler {

	var fh http.Handler = http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {

		serveFleet(w, r, f, now)
	})
	if token != "" {
		fh = requireToken(token, fh)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+PathFleet, fh)
	mux.Handle("/", h)
	return mux
}

// serveFleet answers PathFleet. One optional parameter, window, adds a
// window to the fleet's 1d, 7d and 30d (lifetime: the whole history).
func serveFleet(w http.ResponseWriter, r *http.Request, f FleetFunc,
	now func() time.Time) {

	q := r.URL.Query()
	var extra []core.Window
	for k, v := range q {
		if k != ParamWindow || len(v) != 1 || v[0] == "" {
			writeJSON(w, http.StatusBadRequest, ErrorBody{Error: "bad " +
				"parameter " + core.Quote(k) + ": the fleet view " +
				"takes one window"})
			return
		}
		win, err := core.ParseWindow(v[0])
		if err != nil {
			writeJSON(w, http.StatusBadRequest, ErrorBody{
				Error: "window: " + err.Error()})
			return
		}
		extra = append(extra, win)
	}
	if f == nil {
		writeJSON(w, http.StatusNotFound,
			ErrorBody{Error: errNoFleet.Error()})
		return
	}
	rep, err := f(r.Context(), now(), extra...)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable,
			ErrorBody{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
