package cln_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/cln"
	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/chanfitness/chanfitness/storage"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
)

// TestStoreLogIdleMinute runs the plugin on a badger store through a
// minute of idle heartbeats (sixty forced sync ticks of the monitor, one
// a second, and a garbage collection of the store), then one flap, and
// counts what reached the node's log. At debug, where flaps are logged,
// the flap must be readable: the store and badger add nothing there,
// neither in the idle minute nor at open, and nothing of theirs goes
// above lightningd's "unusual".
func TestStoreLogIdleMinute(t *testing.T) {
	a := lightningdtest.PeerID(1)
	syncT := ticker.NewForce(time.Second)
	gcT := ticker.NewForce(time.Minute)
	p := startInProcess(t, inProcessOpts{
		values: map[string]any{
			"chanfitness-store":   "badger",
			"chanfitness-datadir": t.TempDir(),
		},
		setup: func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			n.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
		},
		config: func(c *cln.Config) {
			c.OpenStore = func(kind, dir string,
				o storage.Options) (core.Store, error) {

				require.Equal(t, "badger", kind)
				return badgerstore.Open(dir, badgerstore.Options{
					Logger: o.Logger, GCTicker: gcT})
			}
			c.NewMonitor = func(mc core.Config) (cln.Monitor, error) {
				mc.SyncTicker = syncT
				return core.NewMonitor(mc)
			}
		},
	})
	p.Report()
	atStart := len(p.Logs())

	for i := 0; i < 60; i++ {
		p.clock.SetTime(p.clock.Now().Add(time.Second))
		syncT.Force <- p.clock.Now()
	}
	gcT.Force <- p.clock.Now()
	// A send returns once the previous tick is done.
	syncT.Force <- p.clock.Now()
	gcT.Force <- p.clock.Now()
	p.Report()
	idle := p.Logs()[atStart:]

	p.Disconnect(a)
	p.Report()
	all := p.Logs()
	flap := all[atStart+len(idle):]

	perLevel := func(lines []lightningdtest.LogLine) map[string]int {
		m := map[string]int{}
		for _, l := range lines {
			m[l.Level]++
		}
		return m
	}
	t.Logf("idle minute: %d lines %v; whole log: %d lines %v",
		len(idle), perLevel(idle), len(all), perLevel(all))

	require.Empty(t, idle, "lines in an idle minute")
	for _, l := range all {
		msg := strings.ToLower(l.Message)
		if strings.Contains(msg, "badger") ||
			strings.Contains(msg, "store") {

			require.NotEqual(t, "debug", l.Level, l.Message)
			require.NotEqual(t, "broken", l.Level, l.Message)
		}
	}
	require.Len(t, flap, 1, "the flap's lines: %v", flap)
	require.Equal(t, "debug", flap[0].Level)
	require.Contains(t, flap[0].Message, a)
}
