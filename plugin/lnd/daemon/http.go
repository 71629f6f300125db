package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// HTTP paths served on --listen.
const (
	PathReport  = "/v1/report"
	PathHealth  = "/v1/health"
	PathMetrics = "/metrics"
)

// reportTimeout bounds the building of one report.
const reportTimeout = 30 * time.Second

// Monitor is what the HTTP server needs of the monitor; *core.Monitor
// implements it.
type Monitor interface {
	Report(ctx context.Context, q core.ReportQuery) (core.Report, error)
	Connected() (bool, time.Time)
}

// Health is the answer of the health endpoint.
type Health struct {
	// NodeConnected says whether the companion is connected to lnd, and
	// Since since when (null when it is not).
	NodeConnected bool      `json:"node_connected"`
	Since         core.Time `json:"since"`
}

// errorBody is the answer to a failed request.
type errorBody struct {
	Error string `json:"error"`
}

// NewHandler returns the HTTP handler of the companion: the JSON report,
// the health check and the Prometheus metrics.
func NewHandler(m Monitor) http.Handler {
	// The process's own metrics come through a registry; the report's
	// are built directly (see Metrics).
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(
			collectors.ProcessCollectorOpts{}))

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathReport, func(w http.ResponseWriter,
		r *http.Request) {

		serveReport(w, r, m)
	})
	mux.HandleFunc("GET "+PathHealth, func(w http.ResponseWriter,
		r *http.Request) {

		serveHealth(w, m)
	})
	mux.Handle("GET "+PathMetrics, metricsHandler(NewMetrics(m), reg))
	return mux
}

// serveReport answers GET /v1/report?peer=&window=.
func serveReport(w http.ResponseWriter, r *http.Request, m Monitor) {
	q := core.ReportQuery{Window: r.URL.Query().Get("window")}
	if _, err := core.ParseWindow(q.Window); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{err.Error()})
		return
	}
	if s := r.URL.Query().Get("peer"); s != "" {
		p, err := core.ParsePeerID(s)
		if err != nil {
			writeJSON(w, http.StatusBadRequest,
				errorBody{err.Error()})
			return
		}
		q.Peer = &p
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	rep, err := m.Report(ctx, q)
	if err != nil {
		writeJSON(w, statusOf(err), errorBody{err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// statusOf maps a monitor error to an HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, core.ErrBadInput):
		return http.StatusBadRequest
	case errors.Is(err, core.ErrPeerNotFound),
		errors.Is(err, core.ErrChannelNotFound):

		return http.StatusNotFound
	case errors.Is(err, core.ErrNotStarted),
		errors.Is(err, core.ErrStopped):

		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// serveHealth answers GET /v1/health: 200 while lnd is connected, 503
// otherwise, with the state in the body either way.
func serveHealth(w http.ResponseWriter, m Monitor) {
	ok, since := m.Connected()
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, Health{NodeConnected: ok,
		Since: core.Time{Time: since}})
}

// writeJSON writes v as a JSON answer.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
