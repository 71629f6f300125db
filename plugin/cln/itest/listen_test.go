package itest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

// listenClient returns an HTTPS client that trusts the certificate the
// plugin made in its datadir, and the token it made there.
func listenClient(t *testing.T, datadir string) (*http.Client, string) {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(datadir, "tls.cert"))
	require.NoError(t, err, "the plugin's TLS certificate")
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	tok, err := os.ReadFile(filepath.Join(datadir, "api.token"))
	require.NoError(t, err, "the plugin's token")
	hc := &http.Client{Timeout: waitTimeout, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return hc, strings.TrimSpace(string(tok))
}

// get fetches path from the plugin's listener with the token and
// returns the body; the status must be 200.
func get(t *testing.T, c *http.Client, base, token, path string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	require.NoError(t, err, path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err, path)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, b)
	return b
}

// reportFacts is what of a report does not move with the clock: the
// history's start and filled spans, and each channel's and peer's
// identity, state, open time and flaps.
func reportFacts(r core.Report) map[string]any {
	f := map[string]any{"monitoring_since": r.MonitoringSince.UnixNano(),
		"filled": r.FilledFromNode, "unmonitored": r.UnmonitoredSeconds}
	for _, c := range r.Channels {
		f["channel "+c.ChannelPoint] = []any{c.PeerID, c.Status,
			c.OpenedAt.UnixNano(), c.OpenedAtSource, c.ShortChannelID}
	}
	for _, p := range r.Peers {
		f["peer "+p.PeerID] = []any{p.Online, p.Since.UnixNano(),
			p.FlapCount}
	}
	return f
}

// checkListener reads the report, health, timeline and metrics from the
// real node's plugin over chanfitness-listen (TLS and the token it made
// in its datadir): the report is lightning-cli chanfitness's, the health
// check sees the node, the timeline lists every peer, and the metrics
// give each peer's state.
func checkListener(t *testing.T, c *clnNode, addr string,
	peers []*lndNode) {

	t.Helper()
	hc, token := listenClient(t, filepath.Join(c.dir, "regtest",
		"chanfitness"))
	base := "https://" + addr

	// Nothing happens between the two reads but the clock.
	cli := c.report()
	var viaHTTP core.Report
	require.NoError(t, json.Unmarshal(get(t, hc, base, token,
		"/v1/report"), &viaHTTP))
	require.Equal(t, reportFacts(cli), reportFacts(viaHTTP),
		"the listener's report is lightning-cli chanfitness's")
	require.WithinDuration(t, cli.GeneratedAt.Time,
		viaHTTP.GeneratedAt.Time, waitTimeout)

	var health struct {
		NodeConnected bool `json:"node_connected"`
	}
	require.NoError(t, json.Unmarshal(get(t, hc, base, token,
		"/v1/health"), &health))
	require.True(t, health.NodeConnected, "health: node connected")

	timeline := string(get(t, hc, base, token, "/v1/timeline"))
	metrics := string(get(t, hc, base, token, "/metrics"))
	for _, nd := range peers {
		require.Contains(t, timeline, nd.Pubkey, "timeline")
		require.Contains(t, metrics, `chanfitness_peer_online{`,
			"metrics")
		require.Contains(t, metrics, nd.Pubkey, "metrics")
	}
}
