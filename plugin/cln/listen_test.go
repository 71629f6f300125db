package cln_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/plugin/cln"
	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/chanfitness/chanfitness/plugin/httpapi"
	"github.com/stretchr/testify/require"
)

// startListening starts the plugin with values and one channel peer, and
// returns it with the address its HTTP listener took.
func startListening(t *testing.T, values map[string]any) (*inProcess,
	string) {

	t.Helper()
	return startListeningWith(t, values, httpapi.Limits{})
}

// startListeningWith is startListening with the listener's limits.
func startListeningWith(t *testing.T, values map[string]any,
	lim httpapi.Limits) (*inProcess, string) {

	t.Helper()
	a := lightningdtest.PeerID(1)
	addr := make(chan string, 1)
	p := startInProcess(t, inProcessOpts{values: values,
		config: func(c *cln.Config) {
			c.OnListen = func(s string) { addr <- s }
			c.ListenLimits = lim
		},
		setup: func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			n.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
		}})
	select {
	case s := <-addr:
		return p, s
	default:
		t.Fatal("the plugin did not report its listener")
		return nil, ""
	}
}

// fetch GETs url with client and returns the status and body.
func fetch(t *testing.T, c *http.Client, url string,
	auth func(*http.Request)) (int, string) {

	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if auth != nil {
		auth(req)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestInProcessListenInsecure: with chanfitness-listen the plugin serves
// the page, the report, the timeline, the health check and the metrics,
// as the lnd companion does; the report is the chanfitness command's.
func TestInProcessListenInsecure(t *testing.T) {
	p, addr := startListening(t, map[string]any{
		"chanfitness-listen":          "127.0.0.1:0",
		"chanfitness-listen-insecure": "true",
	})
	p.advance(time.Hour)
	base := "http://" + addr
	c := &http.Client{Timeout: time.Minute}
	peer := lightningdtest.PeerID(1)
	for path, want := range map[string]string{
		"/":                   `<tr><td><a href="peer/` + peer,
		"/peer/" + peer:       "Channels",
		"/v1/report":          `"peer_id":"` + peer + `"`,
		"/v1/timeline":        `"state":"online"`,
		"/v1/health":          `"node_connected":true`,
		"/metrics":            "chanfitness_peer_online",
		"/v1/report?window=x": `"error":"query parameter window`,
	} {
		code, body := fetch(t, c, base+path, nil)
		wantCode := http.StatusOK
		if strings.Contains(path, "window=x") {
			wantCode = http.StatusBadRequest
		}
		require.Equal(t, wantCode, code, "%s: %s", path, body)
		require.Contains(t, body, want, path)
	}
	p.WaitLog("serving the timeline page", time.Minute)
	require.Zero(t, p.Shutdown())
	_, err := http.Get(base + "/v1/health")
	require.Error(t, err, "still listening after shutdown")
}

// TestInProcessListenHeldConnections: the listener applies the server's
// limits as the lnd companion's does: a connection that sends nothing,
// or a header that never ends, is closed, and a connection past the cap
// is not served until one closes.
func TestInProcessListenHeldConnections(t *testing.T) {
	values := map[string]any{
		"chanfitness-listen":          "127.0.0.1:0",
		"chanfitness-listen-insecure": "true",
	}
	p, addr := startListeningWith(t, values, httpapi.Limits{
		ReadHeaderTimeout: 50 * time.Millisecond})
	closed := func(c net.Conn) {
		t.Helper()
		require.NoError(t, c.SetReadDeadline(
			time.Now().Add(time.Minute)))
		_, err := io.ReadAll(c)
		require.NoError(t, err, "the connection was not closed")
	}
	silent, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer silent.Close()
	closed(silent)
	slow, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer slow.Close()
	_, err = io.WriteString(slow, "GET /v1/health HTTP/1.1\r\nHost: x\r\n")
	require.NoError(t, err)
	closed(slow)
	require.Zero(t, p.Shutdown())

	p, addr = startListeningWith(t, values, httpapi.Limits{MaxConns: 1})
	defer p.Shutdown()
	held, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer held.Close()
	extra, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer extra.Close()
	_, err = io.WriteString(extra,
		"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(extra)
	require.NoError(t, extra.SetReadDeadline(
		time.Now().Add(200*time.Millisecond)))
	_, err = br.Peek(1)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(),
		"a connection past the cap was served: %v", err)
	require.NoError(t, held.Close())
	require.NoError(t, extra.SetReadDeadline(time.Now().Add(time.Minute)))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestInProcessListenTLS: by default the listener serves TLS with a
// certificate and a token made in the datadir; every path but the health
// check needs the token (as a bearer token, or a browser's password).
func TestInProcessListenTLS(t *testing.T) {
	dir := t.TempDir()
	p, addr := startListening(t, map[string]any{
		"chanfitness-listen":  "127.0.0.1:0",
		"chanfitness-datadir": dir,
	})
	defer p.Shutdown()
	pem, err := os.ReadFile(filepath.Join(dir, "tls.cert"))
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	token, err := os.ReadFile(filepath.Join(dir, "api.token"))
	require.NoError(t, err)
	tok := strings.TrimSpace(string(token))
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + addr

	code, _ := fetch(t, c, base+"/v1/health", nil)
	require.Equal(t, http.StatusOK, code)
	for _, path := range []string{"/", "/v1/report", "/v1/timeline",
		"/metrics"} {

		code, _ := fetch(t, c, base+path, nil)
		require.Equal(t, http.StatusUnauthorized, code, path)
		code, _ = fetch(t, c, base+path, func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+tok)
		})
		require.Equal(t, http.StatusOK, code, path)
	}
	code, body := fetch(t, c, base+"/", func(r *http.Request) {
		r.SetBasicAuth("", tok)
	})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "<h1>Peers</h1>")
}

// TestInProcessListenRefused: an address that cannot be listened on
// disables the plugin with a reason naming the option.
func TestInProcessListenRefused(t *testing.T) {
	startInProcess(t, inProcessOpts{values: map[string]any{
		"chanfitness-listen":          "192.0.2.1:1",
		"chanfitness-listen-insecure": "true",
	}, disabled: "option chanfitness-listen"})
}

// TestInProcessListenBadFiles: a token file too short to be a token, or
// a certificate without its key, disables the plugin with a reason
// naming the option and the file, and nothing listens.
func TestInProcessListenBadFiles(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "short.token")
	require.NoError(t, os.WriteFile(token, []byte("abc\n"), 0o600))
	startInProcess(t, inProcessOpts{values: map[string]any{
		"chanfitness-listen":         "127.0.0.1:0",
		"chanfitness-datadir":        dir,
		"chanfitness-auth-tokenpath": token,
	}, disabled: "option chanfitness-listen: token " + token})

	cert := filepath.Join(dir, "garbage.cert")
	require.NoError(t, os.WriteFile(cert, []byte("not a cert"), 0o600))
	startInProcess(t, inProcessOpts{values: map[string]any{
		"chanfitness-listen":       "127.0.0.1:0",
		"chanfitness-datadir":      dir,
		"chanfitness-tls-certpath": cert,
		"chanfitness-tls-keypath":  cert,
	}, disabled: "option chanfitness-listen"})
	startInProcess(t, inProcessOpts{values: map[string]any{
		"chanfitness-listen":       "127.0.0.1:0",
		"chanfitness-tls-certpath": cert,
	}, disabled: "options chanfitness-tls-certpath and " +
		"chanfitness-tls-keypath: give both or neither"})
}
