package cln_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/plugin/cln"
	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
)

// buildTimeout bounds building the plugin binary on a loaded machine.
const buildTimeout = 10 * time.Minute

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// pluginBinary builds the plugin once per test run, with the race
// detector when the tests run with it, and returns its path.
func pluginBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "cf-cln-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "chanfitness-cln")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "github.com/chanfitness/chanfitness/"+
			"plugin/cln/cmd/chanfitness-cln")
		// go test puts its own GOROOT/bin first in PATH.
		ctx, cancel := context.WithTimeout(context.Background(),
			buildTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go %v: %v\n%s", args, err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

// inProcess is a plugin run in this process under the emulator, on a
// test clock and a forced reconcile ticker, so that times are exact.
type inProcess struct {
	*lightningdtest.Node
	clock  *clock.TestClock
	ticker *ticker.Force
}

// t0 is the test clock's start.
var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// inProcessOpts configure startInProcess.
type inProcessOpts struct {
	node lightningdtest.Options

	// values are init's option values; the store defaults to memory.
	values map[string]any

	// dynamic inits as a "plugin start" on a running node.
	dynamic bool

	// setup prepares the node's state before init.
	setup func(n *lightningdtest.Node)

	// config adjusts the plugin's config.
	config func(c *cln.Config)

	// disabled expects init to disable the plugin with a reason
	// containing it.
	disabled string

	// at is the test clock's start (t0 when zero).
	at time.Time
}

// startInProcess runs cln.Run under a new emulated node.
func startInProcess(t *testing.T, o inProcessOpts) *inProcess {
	t.Helper()
	n := lightningdtest.New(t, o.node)
	if o.setup != nil {
		o.setup(n)
	}
	if o.at.IsZero() {
		o.at = t0
	}
	p := &inProcess{
		Node:   n,
		clock:  clock.NewTestClock(o.at),
		ticker: ticker.NewForce(time.Hour),
	}
	cfg := cln.Config{
		Clock: p.clock,
		NewTicker: func(time.Duration) ticker.Ticker {
			return p.ticker
		},
	}
	if o.config != nil {
		o.config(&cfg)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	cfg.In, cfg.Out = inR, outW
	done := make(chan error, 1)
	go func() {
		err := cln.Run(context.Background(), cfg)
		outW.Close()
		inR.Close()
		done <- err
	}()
	n.Attach(inW, outR, done)
	values := map[string]any{"chanfitness-store": "memory"}
	for k, v := range o.values {
		values[k] = v
	}
	reason := n.Init(values, o.dynamic)
	if o.disabled != "" {
		require.Contains(t, reason, o.disabled)
		return p
	}
	require.Empty(t, reason, "plugin disabled itself")
	return p
}

// reconcile forces a reconcile tick. The dispatcher takes the tick before
// any later request, so a following call sees its result.
func (p *inProcess) reconcile() {
	p.ticker.Force <- p.clock.Now()
}

// advance moves the test clock forward once every message sent so far
// has been stamped: the plugin stamps a message when it reads it, and
// answers a call only after everything before it, so a reply is the
// barrier.
func (p *inProcess) advance(d time.Duration) {
	p.Report()
	p.clock.SetTime(p.clock.Now().Add(d))
}

// channel returns the report entry of a channel point.
func channel(t testing.TB, r core.Report,
	point string) core.ChannelReport {

	t.Helper()
	c, ok := coretest.Channel(r, point)
	require.True(t, ok, "channel %s not in report", point)
	return c
}

// peer returns the report entry of a peer.
func peer(t testing.TB, r core.Report, id string) core.PeerReport {
	t.Helper()
	p, ok := coretest.Peer(r, id)
	require.True(t, ok, "peer %s not in report", id)
	return p
}
