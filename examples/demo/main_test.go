package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

// TestDemo runs a short simulation end to end on badger and checks the
// figures that the behaviours must produce.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	require.NoError(t, run([]string{"-dir", dir, "-days", "10",
		"-gap", "2h"}, &out))
	require.Contains(t, out.String(), "unmonitored 2h00m")
	require.Contains(t, out.String(), kindTor)

	raw, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	var rep core.Report
	require.NoError(t, json.Unmarshal(raw, &rep))
	require.EqualValues(t, 2*3600, rep.UnmonitoredSeconds)
	require.Len(t, rep.Peers, 50)

	// The static page: a row per peer, the restart's gap drawn as
	// unmonitored, no link to a server's pages.
	require.Contains(t, out.String(), filepath.Join(dir, "report.html"))
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	require.Equal(t, 50, strings.Count(string(html), "<tr><td><span title="))
	require.Contains(t, string(html), `<rect class=um x=`)
	require.NotContains(t, string(html), `href="peer/`)

	var closed int
	for _, c := range rep.Channels {
		if c.Status == "closed" {
			closed++
			require.NotNil(t, c.ClosedAt.Time)
		} else {
			// Lifetime excludes the 2 h gap, age includes it.
			require.Equal(t, c.AgeSeconds-2*3600, c.LifetimeSeconds,
				c.ChannelPoint)
		}
	}
	require.Equal(t, 2, closed)

	// The long outage runs from day 4 to day 7 of 10. The restart on
	// day 5 cuts it: the 2 h gap is unmonitored, so the longest
	// monitored stretch of it is day 5 + 2 h to day 7.
	var longest int64
	for _, p := range rep.Peers {
		longest = max(longest,
			p.Windows[core.Window30d].LongestOutageSeconds)
	}
	require.EqualValues(t, 46*3600, longest)

	// A second run replaces the store rather than appending to it.
	out.Reset()
	require.NoError(t, run([]string{"-dir", dir, "-days", "4"}, &out))
	raw, err = os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &rep))
	require.Equal(t, "2026-10-01T00:00:00Z",
		rep.MonitoringSince.UTC().Format("2006-01-02T15:04:05Z"))
}

func TestDemoBadFlags(t *testing.T) {
	var out strings.Builder
	require.ErrorContains(t, run([]string{"-days", "1"}, &out),
		"-days 1")
	require.ErrorContains(t, run([]string{"-window", "x"}, &out),
		`window "x"`)
}

// TestDemoVerdicts runs the 30 days of make demo and checks that each
// simulated behaviour gets the verdict an operator would give it.
func TestDemoVerdicts(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	require.NoError(t, run([]string{"-dir", dir}, &out))
	raw, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	var rep core.Report
	require.NoError(t, json.Unmarshal(raw, &rep))
	verdict := make(map[string]string, len(rep.Peers))
	for _, p := range rep.Peers {
		verdict[p.PeerID] = p.Verdict
	}
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	node := newSimNode(1, start, start.Add(30*24*time.Hour))
	want := map[string][]string{
		kindSteady:     {core.VerdictOK},
		kindClosed:     {core.VerdictOK},
		kindLate:       {core.VerdictTooNew},
		kindLastDay:    {core.VerdictWatch},
		kindFlaky:      {core.VerdictWatch, core.VerdictConsiderClosing},
		kindTor:        {core.VerdictWatch, core.VerdictConsiderClosing},
		kindLongOutage: {core.VerdictWatch, core.VerdictConsiderClosing},
	}
	for _, p := range node.peers {
		require.Contains(t, want[p.kind], verdict[p.id.String()],
			"%s peer %s", p.kind, p.id)
	}
	require.Contains(t, out.String(), "VERDICT")
}
