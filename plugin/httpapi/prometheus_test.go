package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

// promWait bounds the wait for Prometheus's first scrapes.
const promWait = 2 * time.Minute

// prometheusBinary returns the path of Debian's prometheus, or skips the
// test (fails it under CI=true) when it is not installed.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("prometheus")
	if err == nil {
		return path
	}
	msg := "prometheus is not installed: run this test after " +
		"apt-get install prometheus (.ci/run installs it)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// freePort returns a loopback address that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())
	return addr
}

// promTarget is a scrape target as /api/v1/targets shows it.
type promTarget struct {
	ScrapePool string    `json:"scrapePool"`
	Health     string    `json:"health"`
	LastError  string    `json:"lastError"`
	LastScrape time.Time `json:"lastScrape"`
}

// promGet decodes the data of a Prometheus API answer.
func promGet(base, path string, query url.Values, data any) error {
	resp, err := http.Get(base + path + "?" + query.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return err
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: status %q", path, body.Status)
	}
	return json.Unmarshal(body.Data, data)
}

// TestRealPrometheus: Debian's Prometheus scrapes the metrics over TLS
// with the token file and stores the peers' series; with a wrong token
// its target is down.
func TestRealPrometheus(t *testing.T) {
	bin := prometheusBinary(t)

	rep := sampleReport()
	rep.Peers = append(rep.Peers, core.PeerReport{PeerID: peerB})
	dir := t.TempDir()
	s, err := Listen(Config{Listen: "127.0.0.1:0", DataDir: dir},
		&stubMonitor{report: rep, connected: true})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	defer func() {
		require.NoError(t, s.Close())
		require.NoError(t, <-done)
	}()

	wrong := filepath.Join(dir, "wrong.token")
	require.NoError(t, os.WriteFile(wrong,
		[]byte(strings.Repeat("0", 64)), 0o600))
	job := func(name, token string) string {
		return fmt.Sprintf(`  - job_name: %s
    scheme: https
    tls_config:
      ca_file: %s
    authorization:
      credentials_file: %s
    static_configs:
      - targets: ["%s"]
`, name, s.CertPath, token, s.Addr())
	}
	cfg := "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n" +
		"scrape_configs:\n" + job("good", s.TokenPath) +
		job("bad", wrong)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))

	// Its own loopback port and storage: a packaged service on 9090,
	// if one runs, is left alone.
	addr := freePort(t)
	var out syncLog
	cmd := exec.Command(bin, "--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	defer func() {
		// Stopped by its pid, as started.
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", out.String())
		}
	}()
	base := "http://" + addr

	var targets struct {
		Active []promTarget `json:"activeTargets"`
	}
	scraped := func() bool {
		if promGet(base, "/api/v1/targets", nil, &targets) != nil ||
			len(targets.Active) != 2 {

			return false
		}
		for _, tg := range targets.Active {
			if tg.LastScrape.IsZero() || tg.Health == "unknown" {
				return false
			}
		}
		return true
	}
	require.Eventually(t, scraped, promWait, 50*time.Millisecond,
		"both targets scraped")
	for _, tg := range targets.Active {
		switch tg.ScrapePool {
		case "good":
			require.Equal(t, "up", tg.Health, tg.LastError)
		case "bad":
			require.Equal(t, "down", tg.Health)
			require.Contains(t, tg.LastError, "401")
		}
	}

	var result struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	online := func() map[string]string {
		q := url.Values{"query": {"chanfitness_peer_online"}}
		if err := promGet(base, "/api/v1/query", q,
			&result); err != nil {

			return map[string]string{"error": err.Error()}
		}
		got := make(map[string]string)
		for _, r := range result.Result {
			got[r.Metric["job"]+" "+r.Metric["peer"]] =
				fmt.Sprint(r.Value[1])
		}
		return got
	}
	want := map[string]string{"good " + peerA: "1", "good " + peerB: "0"}
	var got map[string]string
	require.Eventually(t, func() bool {
		got = online()
		return fmt.Sprint(got) == fmt.Sprint(want)
	}, promWait, 50*time.Millisecond,
		"series of chanfitness_peer_online: %v", &got)
}

// syncLog collects a process's output.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
