package cln_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/stretchr/testify/require"
)

// TestProcessRestartWithGap stops the plugin on a badger store, lets time
// pass, and starts it again: the history continues (same monitoring
// start, channel and flap count, no flap for the restart) and the gap is
// unmonitored time, within what the emulator measured. A peer that went
// offline during the gap is found offline without a flap.
func TestProcessRestartWithGap(t *testing.T) {
	tests := []struct {
		name         string
		onlineAfter  bool
		wantFlapsAdd int
	}{
		{"peer stays online", true, 0},
		{"peer went offline in the gap", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := pluginBinary(t)
			dir := lightningdtest.NewDir(t)
			a := lightningdtest.PeerID(1)
			chSpec := lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal)

			n1 := newNode(t, lightningdtest.Options{Dir: dir})
			n1.SetPeer(a, true)
			ch := n1.AddChannel(chSpec)
			n1.Start(bin, nil, false)
			n1.Disconnect(a)
			n1.Connect(a)
			r1 := n1.Report()
			c1 := channel(t, r1, ch.Point())
			p1 := peer(t, r1, a)
			require.Equal(t, 3, p1.FlapCount)

			stopping := time.Now()
			require.Zero(t, n1.Shutdown())
			exited := time.Now()
			n1.Close()
			require.DirExists(t, filepath.Join(n1.NetDir,
				"chanfitness"))

			// The gap: real time, since the process runs on the
			// system clock.
			waitFor(t, time.Minute, "gap of 1.5 s", func() bool {
				return time.Since(exited) >= 1500*time.Millisecond
			})

			n2 := newNode(t, lightningdtest.Options{Dir: dir})
			n2.SetPeer(a, tc.onlineAfter)
			n2.AddChannel(chSpec)
			launched := time.Now()
			// Without the startup grace (its own test): a peer
			// away at start is offline at once.
			n2.Start(bin, map[string]any{
				"chanfitness-startup-grace": "0"}, false)
			started := time.Now()
			r2 := n2.Report()
			c2 := channel(t, r2, ch.Point())
			p2 := peer(t, r2, a)

			require.Equal(t, r1.MonitoringSince, r2.MonitoringSince)
			require.Equal(t, c1.OpenedAt, c2.OpenedAt)
			require.Equal(t, "open", c2.Status)
			require.Equal(t, p1.FlapCount+tc.wantFlapsAdd, p2.FlapCount)
			require.Equal(t, tc.onlineAfter, p2.Online)

			gapLo, _ := wholeSeconds(launched.Sub(exited))
			_, gapHi := wholeSeconds(started.Sub(stopping))
			require.GreaterOrEqual(t, gapLo, int64(1))
			added := r2.UnmonitoredSeconds - r1.UnmonitoredSeconds
			require.GreaterOrEqual(t, added, gapLo)
			require.LessOrEqual(t, added, gapHi)
			// The gap counts in the channel's age, not in its
			// lifetime (monitored time) nor its uptime.
			require.GreaterOrEqual(t,
				c2.AgeSeconds-c2.LifetimeSeconds, gapLo)
			require.LessOrEqual(t, c2.UptimeSeconds, c2.LifetimeSeconds)
			require.Zero(t, n2.Shutdown())
		})
	}
}

// TestProcessShutdown ends the plugin both ways lightningd does: the
// shutdown notification, and closing stdin (what a plugin not subscribed
// to shutdown sees). Either way the process exits promptly with status 0
// and the badger store holds everything: a new run reads it back.
func TestProcessShutdown(t *testing.T) {
	tests := []struct {
		name string
		stop func(n *lightningdtest.Node) int
	}{
		{"shutdown notification", (*lightningdtest.Node).Shutdown},
		{"stdin closed", (*lightningdtest.Node).CloseStdin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := pluginBinary(t)
			dir := lightningdtest.NewDir(t)
			a := lightningdtest.PeerID(1)

			n1 := newNode(t, lightningdtest.Options{Dir: dir})
			n1.SetPeer(a, true)
			ch := n1.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
			n1.Start(bin, nil, false)
			for i := 0; i < 10; i++ {
				n1.Disconnect(a)
				n1.Connect(a)
			}
			n1.Disconnect(a)
			before := peer(t, n1.Report(), a)
			require.Equal(t, 22, before.FlapCount)

			require.Zero(t, tc.stop(n1))
			require.True(t, n1.Exited())
			n1.Close()

			n2 := newNode(t, lightningdtest.Options{Dir: dir})
			n2.SetPeer(a, false)
			n2.AddChannel(*ch)
			n2.Start(bin, nil, false)
			r := n2.Report()
			after := peer(t, r, a)
			require.Equal(t, before.FlapCount, after.FlapCount)
			require.False(t, after.Online)
			require.Equal(t, before.LastFlap, after.LastFlap)
			require.Equal(t, "open", channel(t, r, ch.Point()).Status)
			require.Zero(t, n2.Shutdown())
		})
	}
}

// TestProcessSpliceWhileStopped splices a channel while the plugin is not
// running: at the next start the listed funding outpoint is new, but the
// channel id still derives from the outpoint it opened with, so the
// channel keeps its point and history instead of being closed and opened
// anew.
func TestProcessSpliceWhileStopped(t *testing.T) {
	bin := pluginBinary(t)
	dir := lightningdtest.NewDir(t)
	a := lightningdtest.PeerID(1)
	chSpec := lightningdtest.NewChannel(a, 1, lightningdtest.StateNormal)

	n1 := newNode(t, lightningdtest.Options{Dir: dir})
	n1.SetPeer(a, true)
	n1.AddChannel(chSpec)
	n1.Start(bin, nil, false)
	c1 := channel(t, n1.Report(), chSpec.Point())
	require.Zero(t, n1.Shutdown())
	n1.Close()

	spliced := chSpec
	moved := lightningdtest.NewChannel(a, 99, "")
	spliced.FundingTxid = moved.FundingTxid
	spliced.FundingOutnum = moved.FundingOutnum
	spliced.ShortChannelID = moved.ShortChannelID

	n2 := newNode(t, lightningdtest.Options{Dir: dir})
	n2.SetPeer(a, true)
	n2.AddChannel(spliced)
	n2.Start(bin, nil, false)
	r := n2.Report()
	require.Len(t, r.Channels, 1)
	c2 := r.Channels[0]
	require.Equal(t, chSpec.Point(), c2.ChannelPoint)
	require.Equal(t, "open", c2.Status)
	require.Equal(t, c1.OpenedAt, c2.OpenedAt)
	n2.WaitLog("was spliced", time.Minute)
	require.Zero(t, n2.Shutdown())
}
