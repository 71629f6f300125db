package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/plugin/httpapi"
	"github.com/chanfitness/chanfitness/plugin/internal/duration"
	lndsource "github.com/chanfitness/chanfitness/plugin/lnd"
	"github.com/chanfitness/chanfitness/plugin/lnd/lndtest"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/lnrpc"
	"github.com/stretchr/testify/require"
)

// t0 is the test clock's start.
var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is a daemon run by a test.
type running struct {
	t       *testing.T
	addr    string
	dataDir string
	stderr  *syncBuffer
	cancel  context.CancelFunc
	done    chan error

	// base, client and token reach its HTTP server.
	base   string
	client *http.Client
	token  string
}

// lndArgs are the options that point the daemon at srv with a macaroon.
func lndArgs(srv *lndtest.Server, mac string) []string {
	return []string{"--lnd.host=" + srv.Host,
		"--lnd.tlscertpath=" + srv.CertPath,
		"--lnd.macaroonpath=" + mac, "--listen=127.0.0.1:0",
		"--debuglevel=debug"}
}

// startDaemon runs the daemon with args (and a temporary --datadir
// unless they name one) and waits until it serves.
func startDaemon(t *testing.T, clk clock.Clock, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, stderr: &syncBuffer{}, cancel: cancel,
		done: make(chan error, 1), dataDir: t.TempDir()}
	insecure := false
	for _, a := range args {
		if d, ok := strings.CutPrefix(a, "--datadir="); ok {
			r.dataDir = d
		}
		insecure = insecure || a == "--listen.insecure"
	}
	args = append([]string{"--datadir=" + r.dataDir}, args...)
	ready := make(chan string, 1)
	go func() {
		r.done <- Run(ctx, args, Env{Stderr: r.stderr, Clock: clk,
			Ready: func(addr string) { ready <- addr }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(lndtest.WaitTimeout):
			t.Error("daemon did not stop")
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", r.stderr.String())
		}
	})
	select {
	case r.addr = <-ready:
	case err := <-r.done:
		require.FailNow(t, "daemon stopped", "%v\n%s", err,
			r.stderr.String())
	case <-time.After(lndtest.WaitTimeout):
		require.FailNow(t, "daemon did not start", r.stderr.String())
	}
	r.connect(insecure)
	return r
}

// connect sets up the client of the daemon at r.addr: over TLS with the
// token, both from r.dataDir, unless insecure.
func (r *running) connect(insecure bool) {
	r.t.Helper()
	r.base, r.client = "http://"+r.addr, &http.Client{}
	if insecure {
		return
	}
	der, err := httpapi.LoadCertPin(filepath.Join(r.dataDir,
		httpapi.TLSCertName))
	require.NoError(r.t, err)
	r.token, err = httpapi.ReadToken(filepath.Join(r.dataDir,
		httpapi.TokenName))
	require.NoError(r.t, err)
	r.base = "https://" + r.addr
	r.client = &http.Client{Transport: &http.Transport{
		TLSClientConfig: httpapi.PinnedTLS(der)}}
}

// stop stops the daemon and returns Run's error.
func (r *running) stop() error {
	r.t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(lndtest.WaitTimeout):
		require.FailNow(r.t, "daemon did not stop")
	}
	return nil
}

// get fetches path from the daemon, with its token.
func (r *running) get(path string) (int, []byte) {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.base+path, nil)
	require.NoError(r.t, err)
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := r.client.Do(req)
	require.NoError(r.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(r.t, err)
	return resp.StatusCode, body
}

// report fetches and decodes the report.
func (r *running) report(query string) core.Report {
	r.t.Helper()
	code, body := r.get(httpapi.PathReport + query)
	require.Equal(r.t, http.StatusOK, code, string(body))
	var rep core.Report
	require.NoError(r.t, json.Unmarshal(body, &rep))
	return rep
}

// eventually waits until cond holds for the daemon's report.
func (r *running) eventually(what string, cond func(core.Report) bool) {
	r.t.Helper()
	require.Eventually(r.t, func() bool {
		return cond(r.report(""))
	}, lndtest.WaitTimeout, 5*time.Millisecond, what)
}

// waitConnected waits until the health endpoint says lnd is connected.
func (r *running) waitConnected() {
	r.t.Helper()
	require.Eventually(r.t, func() bool {
		code, _ := r.get(httpapi.PathHealth)
		return code == http.StatusOK
	}, lndtest.WaitTimeout, 5*time.Millisecond, "lnd connected")
}

func channel(r core.Report, cp string) core.ChannelReport {
	c, _ := coretest.Channel(r, cp)
	return c
}

func peer(r core.Report, id string) core.PeerReport {
	p, _ := coretest.Peer(r, id)
	return p
}

// runCommand runs a one-shot command line and returns its output.
func runCommand(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := Run(context.Background(), args, Env{Stdout: &out})
	return out.String(), err
}

func TestDaemonFollowsLnd(t *testing.T) {
	srv := lndtest.New(t)
	p1, p2 := lndtest.PeerKey(1), lndtest.PeerKey(2)
	a, b := lndtest.ChanPoint(1), lndtest.ChanPoint(2)
	srv.OpenChannel(a, p1, 812345<<40|12<<16|1)
	srv.OpenChannel(b, p2, 0)
	srv.SetOnline(p1, true)
	srv.SetOnline(p2, true)

	clk := clock.NewTestClock(t0)
	args := append(lndArgs(srv, srv.Macaroon(t, "info:read",
		"offchain:read", "peers:read")), "--store=memory")
	d := startDaemon(t, clk, args...)
	d.waitConnected()
	srv.WaitSubscribed(t, 1)

	code, body := d.get(httpapi.PathHealth)
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"node_connected":true,`+
		`"since":"2026-11-21T10:00:00Z"}`, string(body))

	// p2 is away for half an hour.
	clk.SetTime(t0.Add(time.Hour))
	srv.SetOnline(p2, false)
	d.eventually("p2 offline", func(r core.Report) bool {
		return !peer(r, p2).Online
	})
	clk.SetTime(t0.Add(90 * time.Minute))
	srv.SetOnline(p2, true)
	d.eventually("p2 online", func(r core.Report) bool {
		return peer(r, p2).Online
	})

	clk.SetTime(t0.Add(2 * time.Hour))
	r := d.report("")
	ca, cb := channel(r, a), channel(r, b)
	require.Equal(t, "open", ca.Status)
	require.Equal(t, "812345x12x1", *ca.ShortChannelID)
	require.Equal(t, int64(7200), ca.LifetimeSeconds)
	require.Equal(t, int64(7200), ca.UptimeSeconds)
	require.Equal(t, int64(7200), cb.LifetimeSeconds)
	require.Equal(t, int64(5400), cb.UptimeSeconds)
	require.InDelta(t, 0.75, *cb.UptimeRatio, 1e-9)

	// b closes; lnd repeats the close (harmless).
	srv.CloseChannel(b, lnrpc.ChannelCloseSummary_COOPERATIVE_CLOSE)
	srv.SendChannelEvent(&lnrpc.ChannelEventUpdate{
		Type: lnrpc.ChannelEventUpdate_CLOSED_CHANNEL,
		Channel: &lnrpc.ChannelEventUpdate_ClosedChannel{
			ClosedChannel: &lnrpc.ChannelCloseSummary{
				ChannelPoint: b, RemotePubkey: p2,
			},
		},
	})
	d.eventually("b closed", func(r core.Report) bool {
		return channel(r, b).Status == "closed"
	})
	clk.SetTime(t0.Add(3 * time.Hour))
	r = d.report("")
	cb = channel(r, b)
	require.Equal(t, t0.Add(2*time.Hour), cb.ClosedAt.Time)
	require.Equal(t, int64(7200), cb.LifetimeSeconds, "frozen")
	require.Equal(t, int64(5400), cb.UptimeSeconds, "frozen")
	require.Equal(t, int64(10800), channel(r, a).LifetimeSeconds)
	require.Equal(t, 1, srv.Calls("GetInfo"), "no reconnect")

	// One peer only.
	r = d.report("?peer=" + p1 + "&window=1d")
	require.Len(t, r.Peers, 1)
	require.Len(t, r.Channels, 1)
	require.Equal(t, "1d", r.Window)

	_, metrics := d.get(httpapi.PathMetrics)
	require.Contains(t, string(metrics), `chanfitness_channel_open{`+
		`channel_point="`+b+`",peer="`+p2+`"} 0`)
	// a has a short channel id: lnd's chan_id and CLN's scid label it.
	require.Contains(t, string(metrics), `chanfitness_channel_uptime_`+
		`seconds{chan_id="893182773266481153",channel_point="`+a+
		`",peer="`+p1+`",scid="812345x12x1"} 10800`)

	// The timeline page and the segments, behind the same token.
	code, page := d.get(httpapi.PathPage + "?window=lifetime")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(page), `<tr><td><a href="peer/`+p1)
	code, segs := d.get(httpapi.PathTimeline + "?peer=" + p1)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(segs), `"state":"online"`)

	// The report command, as tables and as JSON.
	out, err := runCommand(t, "--listen="+d.addr, "report",
		"--datadir="+d.dataDir)
	require.NoError(t, err)
	require.Contains(t, out, "PEER")
	require.Contains(t, out, "closed")
	require.Contains(t, out, "75%")

	out, err = runCommand(t, "report", "--listen="+d.addr, "--json",
		"--peer="+p2, "--window=12h", "--datadir="+d.dataDir)
	require.NoError(t, err)
	var fromCmd core.Report
	require.NoError(t, json.Unmarshal([]byte(out), &fromCmd))
	require.Equal(t, d.report("?peer="+p2+"&window=12h"), fromCmd)
	require.Contains(t, out, "\n  \"channels\": [")

	// The advice command: one line per peer, each too new to judge.
	out, err = runCommand(t, "advice", "--listen="+d.addr,
		"--datadir="+d.dataDir)
	require.NoError(t, err)
	require.Contains(t, out, "VERDICT")
	require.Contains(t, out, "too_new  "+p1)
	require.Contains(t, out, "too_new  "+p2)
	require.Contains(t, out, "judged from 14d")
	out, err = runCommand(t, "advice", "--json", "--listen="+d.addr,
		"--datadir="+d.dataDir)
	require.NoError(t, err)
	var adv struct{ Advice []core.Advice }
	require.NoError(t, json.Unmarshal([]byte(out), &adv))
	require.Len(t, adv.Advice, 2)
	require.Equal(t, core.VerdictTooNew, adv.Advice[0].Verdict)

	_, err = runCommand(t, "report", "--listen="+d.addr, "--peer=zz",
		"--datadir="+d.dataDir)
	require.ErrorContains(t, err, `peer id "zz"`)
	_, err = runCommand(t, "report", "--listen="+d.addr,
		"--window=fortnight", "--datadir="+d.dataDir)
	require.ErrorContains(t, err, `window "fortnight"`)
	// Without the daemon's token the command says where it looked.
	_, err = runCommand(t, "report", "--listen="+d.addr,
		"--datadir="+t.TempDir())
	require.ErrorContains(t, err, "tls.cert")
	// Another token is refused.
	bad := filepath.Join(t.TempDir(), "bad.token")
	require.NoError(t, os.WriteFile(bad, []byte(strings.Repeat("a", 64)),
		0o600))
	_, err = runCommand(t, "report", "--listen="+d.addr,
		"--datadir="+d.dataDir, "--auth.tokenpath="+bad)
	require.ErrorContains(t, err, "bearer token")
	// A plain HTTP request gets nothing.
	resp, err := http.Get("http://" + d.addr + httpapi.PathReport)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	require.NoError(t, d.stop())
	require.NotContains(t, d.stderr.String(), "[ERR]")
	require.Contains(t, d.stderr.String(), "monitor stopped")
}

func TestReportCommandWithoutDaemon(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())

	_, err = runCommand(t, "report", "--listen="+addr,
		"--listen.insecure")
	require.ErrorContains(t, err, "is it running, with this --listen")
	require.ErrorContains(t, err, addr)
}

func TestDaemonMacaroonCheck(t *testing.T) {
	tests := []struct {
		name    string
		perms   []string
		wantErr []string
		wantLog string
	}{{
		name:    "least privilege",
		perms:   []string{"info:read", "offchain:read", "peers:read"},
		wantLog: "synced with lnd",
	}, {
		name:  "without the optional onchain:read",
		perms: []string{"info:read", "offchain:read", "peers:read"},
		wantLog: "lacks the optional onchain:read: the open times of " +
			"channels older than the companion are estimated",
	}, {
		name: "with onchain:read",
		perms: []string{"info:read", "offchain:read", "peers:read",
			"onchain:read"},
		wantLog: "synced with lnd",
	}, {
		name: "method scoped",
		perms: []string{"uri:/lnrpc.Lightning/GetInfo",
			"uri:/lnrpc.Lightning/ListChannels",
			"uri:/lnrpc.Lightning/SubscribeChannelEvents",
			"uri:/lnrpc.Lightning/ClosedChannels",
			"uri:/lnrpc.Lightning/ListPeers",
			"uri:/lnrpc.Lightning/SubscribePeerEvents"},
		wantLog: "synced with lnd",
	}, {
		name: "read only",
		perms: []string{"info:read", "offchain:read", "peers:read",
			"onchain:read", "invoices:read"},
		wantLog: "grants more than the companion uses " +
			"(invoices:read)",
	}, {
		name: "admin",
		perms: []string{"info:read", "info:write", "offchain:read",
			"offchain:write", "peers:read", "peers:write",
			"macaroon:generate"},
		wantLog: "can change the node (info:write, macaroon:generate, " +
			"offchain:write, peers:write): the companion only reads",
	}, {
		name:    "missing peers:read",
		perms:   []string{"info:read", "offchain:read"},
		wantErr: []string{"lacks peers:read", lndsource.BakeCommand},
	}, {
		name:  "missing two",
		perms: []string{"info:read"},
		wantErr: []string{"lacks offchain:read, peers:read",
			lndsource.BakeCommand},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := lndtest.New(t)
			mac := srv.Macaroon(t, tc.perms...)
			args := append(lndArgs(srv, mac), "--store=memory")
			if tc.wantErr != nil {
				var stderr syncBuffer
				err := Run(context.Background(), args,
					Env{Stderr: &stderr})
				require.ErrorIs(t, err, lndsource.ErrPermission)
				for _, w := range tc.wantErr {
					require.ErrorContains(t, err, w)
				}
				require.Zero(t, srv.Calls("GetInfo"),
					"refused before connecting")
				return
			}
			d := startDaemon(t, clock.NewTestClock(t0), args...)
			d.waitConnected()
			require.Eventually(t, func() bool {
				return strings.Contains(d.stderr.String(),
					tc.wantLog)
			}, lndtest.WaitTimeout, 5*time.Millisecond, tc.wantLog)
		})
	}
}

func TestDaemonStopsWhenLndRejectsMacaroon(t *testing.T) {
	srv := lndtest.New(t)
	args := append(lndArgs(srv, srv.ForeignMacaroon(t, "info:read",
		"offchain:read", "peers:read")), "--store=memory")
	var stderr syncBuffer
	err := Run(context.Background(), args, Env{Stderr: &stderr})
	require.ErrorIs(t, err, lndsource.ErrBadMacaroon)
	require.ErrorContains(t, err, "was it baked by this lnd node?")
}

func TestDaemonMissingMacaroonFile(t *testing.T) {
	srv := lndtest.New(t)
	missing := filepath.Join(t.TempDir(), "nope.macaroon")
	err := Run(context.Background(), lndArgs(srv, missing), Env{})
	require.ErrorContains(t, err, "nope.macaroon")
	require.ErrorContains(t, err, lndsource.BakeCommand)
}

// TestDaemonNeverFallsBackToPlainHTTP: on every interface, a token it
// cannot read stops the start; it does not serve without one.
func TestDaemonNeverFallsBackToPlainHTTP(t *testing.T) {
	srv := lndtest.New(t)
	mac := srv.Macaroon(t, "info:read", "offchain:read", "peers:read")
	for _, extra := range [][]string{
		{"--auth.tokenpath=/dev/zero"},
		{"--tls.certpath=/dev/null", "--tls.keypath=/dev/null"},
	} {
		args := append(lndArgs(srv, mac), "--store=memory",
			"--datadir="+t.TempDir(), "--listen=0.0.0.0:0")
		err := Run(context.Background(), append(args, extra...),
			Env{Ready: func(string) {
				t.Error("the daemon served")
			}})
		require.ErrorContains(t, err, "/dev/")
	}
}

func TestDaemonEndlessMacaroonFile(t *testing.T) {
	srv := lndtest.New(t)
	err := Run(context.Background(), lndArgs(srv, "/dev/zero"), Env{})
	require.ErrorContains(t, err, "/dev/zero is larger than")
}

func TestDaemonBadgerHistoryContinues(t *testing.T) {
	srv := lndtest.New(t)
	p, cp := lndtest.PeerKey(1), lndtest.ChanPoint(1)
	srv.OpenChannel(cp, p, 0)
	srv.SetOnline(p, true)
	dataDir := t.TempDir()
	args := append(lndArgs(srv, srv.Macaroon(t, "info:read",
		"offchain:read", "peers:read")), "--datadir="+dataDir)

	clk := clock.NewTestClock(t0)
	d := startDaemon(t, clk, args...)
	d.waitConnected()

	// A second daemon on the same store is refused, naming it.
	err := Run(context.Background(), args, Env{})
	require.ErrorIs(t, err, badgerstore.ErrLocked)
	require.ErrorContains(t, err, filepath.Join(dataDir, "badger"))

	clk.SetTime(t0.Add(time.Hour))
	require.NoError(t, d.stop())

	// Down for an hour, then back: the history continues and the
	// hour away is unmonitored, not downtime of the peer.
	clk.SetTime(t0.Add(2 * time.Hour))
	d = startDaemon(t, clk, args...)
	d.waitConnected()
	clk.SetTime(t0.Add(3 * time.Hour))
	r := d.report("")
	require.Equal(t, t0, r.MonitoringSince.Time)
	require.Equal(t, int64(3600), r.UnmonitoredSeconds)
	c := channel(r, cp)
	require.Equal(t, t0, c.OpenedAt.Time)
	require.Equal(t, int64(3*3600), c.AgeSeconds)
	require.Equal(t, int64(2*3600), c.LifetimeSeconds)
	require.Equal(t, int64(2*3600), c.UptimeSeconds)
}

func TestConfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	tests := []struct {
		name    string
		args    []string
		want    func(c *Config)
		wantErr string
	}{{
		name: "defaults",
		want: func(c *Config) {
			c.Lnd.MacaroonPath = filepath.Join(home, ".lnd/data/"+
				"chain/bitcoin/mainnet/readonly.macaroon")
			c.DataDir = filepath.Join(home,
				".chanfitness-lnd/mainnet")
		},
	}, {
		name: "network moves the macaroon and the data",
		args: []string{"--network=testnet4"},
		want: func(c *Config) {
			c.Network = "testnet4"
			c.Lnd.MacaroonPath = filepath.Join(home, ".lnd/data/"+
				"chain/bitcoin/testnet4/readonly.macaroon")
			c.DataDir = filepath.Join(home,
				".chanfitness-lnd/testnet4")
		},
	}, {
		name: "explicit paths stay",
		args: []string{"--network=regtest",
			"--lnd.macaroonpath=~/cf.macaroon",
			"--lnd.tlscertpath=/etc/lnd/tls.cert",
			"--lnd.host=10.0.0.2:10009", "--datadir=/var/lib/cf",
			"--store=memory", "--listen=127.0.0.1:9999"},
		want: func(c *Config) {
			c.Network = "regtest"
			c.Lnd.MacaroonPath = filepath.Join(home, "cf.macaroon")
			c.Lnd.TLSCertPath = "/etc/lnd/tls.cert"
			c.Lnd.Host = "10.0.0.2:10009"
			c.DataDir = "/var/lib/cf"
			c.Store = "memory"
			c.Listen = "127.0.0.1:9999"
		},
	}, {
		name: "durations",
		args: []string{"--reconcileinterval=1m30s",
			"--closedretention=365d"},
		want: func(c *Config) {
			c.ReconcileInterval = duration.Flag(90 * time.Second)
			c.ClosedRetention = duration.Flag(365 * 24 * time.Hour)
			c.Lnd.MacaroonPath = filepath.Join(home, ".lnd/data/"+
				"chain/bitcoin/mainnet/readonly.macaroon")
			c.DataDir = filepath.Join(home,
				".chanfitness-lnd/mainnet")
		},
	}, {
		name: "reconcile disabled, closed channels kept forever",
		args: []string{"--reconcileinterval=0",
			"--closedretention=0"},
		want: func(c *Config) {
			c.ReconcileInterval = 0
			c.ClosedRetention = 0
			c.Lnd.MacaroonPath = filepath.Join(home, ".lnd/data/"+
				"chain/bitcoin/mainnet/readonly.macaroon")
			c.DataDir = filepath.Join(home,
				".chanfitness-lnd/mainnet")
		},
	}, {
		name: "listener options",
		args: []string{"--listen=0.0.0.0:9739", "--listen.insecure",
			"--tls.certpath=~/c.pem", "--tls.keypath=/k.pem",
			"--tls.extradomain=a.example", "--tls.extradomain=b",
			"--tls.extraip=192.0.2.1", "--auth.tokenpath=~/t"},
		want: func(c *Config) {
			c.Listen = "0.0.0.0:9739"
			c.ListenOpts.Insecure = true
			c.TLS = &TLSConfig{
				CertPath:     filepath.Join(home, "c.pem"),
				KeyPath:      "/k.pem",
				ExtraDomains: []string{"a.example", "b"},
				ExtraIPs:     []string{"192.0.2.1"},
			}
			c.Auth.TokenPath = filepath.Join(home, "t")
			c.Lnd.MacaroonPath = filepath.Join(home, ".lnd/data/"+
				"chain/bitcoin/mainnet/readonly.macaroon")
			c.DataDir = filepath.Join(home,
				".chanfitness-lnd/mainnet")
		},
	}, {
		name: "advice options",
		args: []string{"--verdictwindow=14d",
			"--verdictwatchuptime=0.9", "--exportdir=export",
			"--alertwebhook=http://127.0.0.1:9/hook"},
		want: func(c *Config) {
			c.VerdictWindow = "14d"
			c.VerdictWatchUptime = "0.9"
			c.ExportDir = "export"
			c.AlertWebhook = "http://127.0.0.1:9/hook"
			c.Lnd.MacaroonPath = filepath.Join(home, ".lnd/data/"+
				"chain/bitcoin/mainnet/readonly.macaroon")
			c.DataDir = filepath.Join(home,
				".chanfitness-lnd/mainnet")
		},
	}, {
		name:    "uptime ratio above 1",
		args:    []string{"--verdictwatchuptime=1.5"},
		wantErr: `verdictwatchuptime "1.5": want a ratio`,
	}, {
		name:    "close uptime above watch uptime",
		args:    []string{"--verdictcloseuptime=0.99"},
		wantErr: "close uptime 0.99 is above the watch uptime 0.95",
	}, {
		name:    "webhook not http",
		args:    []string{"--alertwebhook=ftp://example.com/x"},
		wantErr: `alertwebhook "ftp://example.com/x": want an http`,
	}, {
		name:    "certificate without key",
		args:    []string{"--tls.certpath=/c.pem"},
		wantErr: "tls.certpath and tls.keypath go together",
	}, {
		name:    "negative reconcile interval",
		args:    []string{"--reconcileinterval=-1m"},
		wantErr: `duration "-1m": want whole days`,
	}, {
		name:    "fractional reconcile interval",
		args:    []string{"--reconcileinterval=1.5m"},
		wantErr: `duration "1.5m": want whole days`,
	}, {
		name: "reconcile interval over a day",
		args: []string{"--reconcileinterval=25h"},
		wantErr: "reconcileinterval: 1d1h is out of range: want 0 " +
			"(never) or 1s to 1d",
	}, {
		name:    "retention over a century",
		args:    []string{"--closedretention=36501d"},
		wantErr: "closedretention: 36501d is out of range",
	}, {
		name:    "retention in days without a unit",
		args:    []string{"--closedretention=90"},
		wantErr: `duration "90"`,
	}, {
		name:    "reconcile interval without a unit",
		args:    []string{"--reconcileinterval=300"},
		wantErr: `duration "300": want whole days`,
	}, {
		name:    "unknown network",
		args:    []string{"--network=litecoin"},
		wantErr: `network "litecoin": want one of mainnet, testnet`,
	}, {
		name:    "unknown store",
		args:    []string{"--store=bolt"},
		wantErr: `store "bolt": want badger, postgres or memory`,
	}, {
		name:    "unknown level",
		args:    []string{"--debuglevel=loud"},
		wantErr: `debuglevel "loud": the specified debug level [loud] is invalid`,
	}, {
		name:    "unknown flag",
		args:    []string{"--lnd.rpcserver=x"},
		wantErr: "unknown flag `lnd.rpcserver'",
	}, {
		name:    "misspelt command",
		args:    []string{"--store=memory", "reprot"},
		wantErr: `unexpected argument "reprot"`,
	}, {
		name:    "argument after the command",
		args:    []string{"report", "7d"},
		wantErr: `unexpected argument "7d"`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := parse(tc.args)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			want := defaultConfig()
			want.Lnd.TLSCertPath = filepath.Join(home,
				".lnd/tls.cert")
			tc.want(want)
			require.NoError(t, want.resolveAdvice())
			require.Equal(t, want, cfg)
		})
	}
}

func TestHelp(t *testing.T) {
	out, err := runCommand(t, "--help")
	require.NoError(t, err)
	for _, flag := range []string{"--lnd.host", "--lnd.tlscertpath",
		"--lnd.macaroonpath", "--network", "--datadir", "--store",
		"--listen", "--reconcileinterval", "--listen.insecure",
		"--tls.certpath", "--tls.keypath", "--tls.extradomain",
		"--tls.extraip", "--auth.tokenpath", "report", "advice",
		"--verdictwindow", "--exportdir", "--alertwebhook"} {

		require.Contains(t, out, flag)
	}
	out, err = runCommand(t, "report", "--help")
	require.NoError(t, err)
	require.True(t, strings.Contains(out, "--json"), out)
}

func TestSIGTERMStopsCleanly(t *testing.T) {
	srv := lndtest.New(t)
	srv.OpenChannel(lndtest.ChanPoint(1), lndtest.PeerKey(1), 0)
	dataDir := t.TempDir()
	args := append(lndArgs(srv, srv.Macaroon(t, "info:read",
		"offchain:read", "peers:read")), "--datadir="+dataDir)

	ctx, stop := signalContext()
	defer stop()
	var stderr syncBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, args, Env{Stderr: &stderr,
			Ready: func(addr string) { ready <- addr }})
	}()
	d := &running{t: t, stderr: &stderr, dataDir: dataDir}
	select {
	case d.addr = <-ready:
	case err := <-done:
		require.FailNow(t, "daemon stopped", "%v", err)
	case <-time.After(lndtest.WaitTimeout):
		require.FailNow(t, "daemon did not start")
	}
	d.connect(false)
	d.eventually("the channel", func(r core.Report) bool {
		return len(r.Channels) == 1
	})

	// The signal handler is installed, so the signal only ends Run.
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(lndtest.WaitTimeout):
		require.FailNow(t, "SIGTERM did not stop the daemon")
	}
	require.Contains(t, stderr.String(), "shutting down")
	require.Contains(t, stderr.String(), "monitor stopped")

	// The store was closed: it opens again, with the channel in it.
	st, err := badgerstore.Open(filepath.Join(dataDir, "badger"),
		badgerstore.Options{})
	require.NoError(t, err)
	defer st.Close()
	state, err := st.Load(context.Background())
	require.NoError(t, err)
	require.Len(t, state.Channels, 1)
}

// TestCoreRetention: --closedretention=0 keeps closed channels forever,
// as chanfitness-closed-retention=0 does on Core Lightning; core's zero
// would mean its default instead.
func TestCoreRetention(t *testing.T) {
	for _, tc := range []struct {
		flag string
		want time.Duration
	}{
		{"0", -1},
		{"90d", 90 * 24 * time.Hour},
		{"1h", time.Hour},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			t.Setenv("HOME", t.TempDir())
			cfg, _, err := parse([]string{"--closedretention=" +
				tc.flag})
			require.NoError(t, err)
			require.Equal(t, tc.want, cfg.coreRetention())
		})
	}
}
