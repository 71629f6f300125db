package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/fleet"
	"github.com/stretchr/testify/require"
)

func TestFleetEndpoint(t *testing.T) {
	now := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var asked []core.Window
	f := func(_ context.Context, at time.Time,
		extra ...core.Window) (fleet.Report, error) {

		asked = extra
		if len(extra) > 0 && extra[0].Name == "1h" {
			return fleet.Report{}, errors.New("database unreachable")
		}
		return fleet.Report{GeneratedAt: core.Time{Time: at}}, nil
	}
	m := &stubMonitor{}
	h := withFleet(NewHandler(m, "tok"), f, clock, "tok")

	tests := []struct {
		name   string
		target string
		token  bool
		code   int
		want   string
	}{
		{"no token", PathFleet, false, http.StatusUnauthorized,
			"bearer token"},
		{"view", PathFleet, true, http.StatusOK,
			`"generated_at":"2026-11-02T00:00:00Z"`},
		{"extra window", PathFleet + "?window=12h", true,
			http.StatusOK, `"generated_at"`},
		{"bad window", PathFleet + "?window=1.5h", true,
			http.StatusBadRequest, "window: "},
		{"unknown parameter", PathFleet + "?peer=x", true,
			http.StatusBadRequest, `bad parameter \"peer\"`},
		{"two windows", PathFleet + "?window=1d&window=7d", true,
			http.StatusBadRequest, "one window"},
		{"database down", PathFleet + "?window=1h", true,
			http.StatusServiceUnavailable, "unreachable"},
		{"report still served", PathReport, true, http.StatusOK,
			`"generated_at"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.target,
				nil)
			if tc.token {
				req.Header.Set("Authorization", "Bearer tok")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tc.code, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), tc.want)
		})
	}
	require.Equal(t, "1h", asked[0].Name)

	// Without a shared database: 404 saying what it needs.
	h = withFleet(NewHandler(m, ""), nil, clock, "")
	req := httptest.NewRequest(http.MethodGet, PathFleet, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Contains(t, rec.Body.String(), "--store=postgres")
}
