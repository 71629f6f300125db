// Package httpapi is the HTTP side of chanfitness, shared by the front
// ends: the JSON report, the timeline's segments, a health check,
// Prometheus metrics and the timeline page (NewHandler), the query rules of the report (ParseReportQuery), and a
// server that holds its connections to bounds and serves over TLS with a
// bearer token (Listen).
package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// HTTP paths.
const (
	PathReport   = "/v1/report"
	PathHealth   = "/v1/health"
	PathMetrics  = "/metrics"
	PathTimeline = "/v1/timeline"

	// PathPage is the timeline page of every peer, and PathPeerPage
	// followed by a peer id that of one peer.
	PathPage     = "/"
	PathPeerPage = "/peer/"
)

// Query parameters of PathReport.
const (
	ParamPeer   = "peer"
	ParamWindow = "window"
)

// reportTimeout bounds the building of one report.
const reportTimeout = 30 * time.Second

// Monitor is what the handler needs of the monitor; *core.Monitor
// implements it.
type Monitor interface {
	Report(ctx context.Context, q core.ReportQuery) (core.Report, error)
	Timeline(ctx context.Context, q core.TimelineQuery) (core.Timeline,
		error)
	Connected() (bool, time.Time)
}

// Health is the answer of the health endpoint.
type Health struct {
	// NodeConnected says whether the front end is connected to its
	// node, and Since since when (null when it is not).
	NodeConnected bool      `json:"node_connected"`
	Since         core.Time `json:"since"`
}

// ErrorBody is the answer to a failed request.
type ErrorBody struct {
	Error string `json:"error"`
}

// NewHandler returns the HTTP handler of the report, the timeline, the
// health check, the Prometheus metrics and the pages of m. With a token,
// every path but PathHealth answers 401 to a request without
// "Authorization: Bearer <token>" (or, so that a browser can ask for it,
// HTTP basic authentication with the token as the password).
func NewHandler(m Monitor, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathReport, func(w http.ResponseWriter,
		r *http.Request) {

		serveReport(w, r, m)
	})
	mux.HandleFunc("GET "+PathHealth, func(w http.ResponseWriter,
		r *http.Request) {

		serveHealth(w, m)
	})
	mux.Handle("GET "+PathMetrics, MetricsHandler(m))
	mux.HandleFunc("GET "+PathTimeline, func(w http.ResponseWriter,
		r *http.Request) {

		serveTimeline(w, r, m)
	})
	mux.HandleFunc("GET "+PathPage+"{$}", func(w http.ResponseWriter,
		r *http.Request) {

		servePage(w, r, m)
	})
	mux.HandleFunc("GET "+PathPeerPage+"{id}", func(w http.ResponseWriter,
		r *http.Request) {

		servePeerPage(w, r, m)
	})
	if token == "" {
		return mux
	}
	return requireToken(token, mux)
}

// requireToken answers 401 to a request for anything but PathHealth that
// does not carry the bearer token.
func requireToken(token string, next http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != PathHealth {
			got := []byte(r.Header.Get("Authorization"))
			_, pass, basic := r.BasicAuth()
			if subtle.ConstantTimeCompare(got, want) != 1 &&
				(!basic || subtle.ConstantTimeCompare(
					[]byte(pass), []byte(token)) != 1) {

				challenge := `Bearer realm="chanfitness"`
				if isPage(r.URL.Path) {
					// A browser asks for a password.
					challenge = `Basic realm="chanfitness ` +
						`(the password is the token)"`
				}
				w.Header().Set("WWW-Authenticate", challenge)
				writeJSON(w, http.StatusUnauthorized, ErrorBody{
					"missing or wrong bearer token (the " +
						"content of the token file " +
						"the server named in its log " +
						"at start)"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// ParseReportQuery reads the query of PathReport: at most one peer (66
// hex characters) and one window (see core.ParseWindow). An undecodable
// escape, a repeated, unknown or empty parameter is an error naming the
// parameter; a bad value is quoted by a short prefix only.
func ParseReportQuery(rawQuery string) (core.ReportQuery, error) {
	var q core.ReportQuery
	err := parseQuery(rawQuery, []string{ParamPeer, ParamWindow},
		func(key, value string) error {
			return setReportParam(&q, key, value)
		})
	return q, err
}

// setReportParam sets a peer or window parameter of q.
func setReportParam(q *core.ReportQuery, key, value string) error {
	switch key {
	case ParamPeer:
		p, err := core.ParsePeerID(value)
		if err != nil {
			return fmt.Errorf("query parameter %s: %w", key, err)
		}
		q.Peer = &p
	case ParamWindow:
		w, err := core.ParseWindow(value)
		if err != nil {
			return fmt.Errorf("query parameter %s: %w", key, err)
		}
		q.Window = w.Name
	}
	return nil
}

// parseQuery reads a query of the parameters keys, each at most once
// and not empty, handing each to set. An undecodable escape, a repeated,
// unknown or empty parameter is an error naming the parameter; a bad
// value is quoted by a short prefix only.
func parseQuery(rawQuery string, keys []string,
	set func(key, value string) error) error {

	seen := make(map[string]bool, len(keys))
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return fmt.Errorf("%w: query parameter %s: bad "+
				"escape in its name", core.ErrBadInput,
				core.Quote(rawKey))
		}
		if !slices.Contains(keys, key) {
			return fmt.Errorf("%w: unknown query parameter %s "+
				"(want %s)", core.ErrBadInput, core.Quote(key),
				orList(keys))
		}
		if seen[key] {
			return fmt.Errorf("%w: query parameter %s given "+
				"more than once", core.ErrBadInput, key)
		}
		seen[key] = true
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return fmt.Errorf("%w: query parameter %s: bad "+
				"escape in %s", core.ErrBadInput, key,
				core.Quote(rawValue))
		}
		if value == "" {
			return fmt.Errorf("%w: query parameter %s is empty "+
				"(leave it out for the default)", core.ErrBadInput,
				key)
		}
		if err := set(key, value); err != nil {
			return err
		}
	}
	return nil
}

// orList writes "a", "a or b", "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " +
		words[len(words)-1]
}

// serveReport answers GET /v1/report?peer=&window=.
func serveReport(w http.ResponseWriter, r *http.Request, m Monitor) {
	q, err := ParseReportQuery(r.URL.RawQuery)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorBody{err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	rep, err := m.Report(ctx, q)
	if err != nil {
		writeJSON(w, statusOf(err), ErrorBody{err.Error()})
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

// serveHealth answers GET /v1/health: 200 while the node is connected,
// 503 otherwise, with the state in the body either way.
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
