package core_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/stretchr/testify/require"
)

// FuzzParseChannelPoint: an accepted channel point prints back as its
// canonical input and survives its text round trip; every error is short.
func FuzzParseChannelPoint(f *testing.F) {
	txid := strings.Repeat("ab", 32)
	for _, s := range []string{"", ":", txid, txid + ":0", txid + ":1",
		txid + ":01", txid + ":-1", txid + ":+1", txid + ":4294967295",
		txid + ":4294967296", strings.ToUpper(txid) + ":7",
		strings.Repeat("zz", 32) + ":0", txid + ":0:1", ":" + txid,
		txid[:62] + ":0"} {

		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cp, err := core.ParseChannelPoint(s)
		if err != nil {
			require.ErrorIs(t, err, core.ErrBadInput)
			require.Less(t, len(err.Error()), maxErrLen)
			return
		}
		require.Equal(t, strings.ToLower(s), cp.String())
		var back core.ChannelPoint
		require.NoError(t, back.UnmarshalText([]byte(cp.String())))
		require.Equal(t, cp, back)
		again, err := core.NewChannelPoint(cp.TxidString(), cp.Index)
		require.NoError(t, err)
		require.Equal(t, cp, again)
	})
}

// FuzzSnapshot: a snapshot Validate refuses gets a short ErrBadInput; one
// it accepts is applied by Sync without error, and the report that
// follows holds every invariant.
func FuzzSnapshot(f *testing.F) {
	f.Add(int64(0), int64(0), []byte{})
	f.Add(t0.Unix(), int64(0), []byte{1, 2, 3, 4, 5, 6})
	f.Add(int64(-1), int64(0), []byte{1})
	f.Add(int64(1<<62), int64(0), []byte{1})
	f.Add(t0.Unix()+86400, int64(999), []byte{0, 0, 9, 9, 0, 7})
	f.Fuzz(func(t *testing.T, sec, nsec int64, data []byte) {
		var snap core.Snapshot
		if sec != 0 || nsec != 0 {
			snap.Time = time.Unix(sec, nsec)
		}
		// Each triple of bytes: a peer, a channel (0: none, the zero
		// value), and whether the peer is listed online.
		for i := 0; i+2 < len(data) && i < 96; i += 3 {
			var p core.PeerID
			if data[i] != 0 {
				p = peerN(int(data[i]))
			}
			var cp core.ChannelPoint
			if data[i+1] != 0 {
				cp = chanN(int(data[i+1]))
			}
			if data[i+2]&1 == 1 {
				snap.OnlinePeers = append(snap.OnlinePeers, p)
			}
			if data[i+2]&2 == 0 {
				snap.Channels = append(snap.Channels,
					core.SnapshotChannel{Point: cp, Peer: p})
			}
		}
		if err := snap.Validate(); err != nil {
			require.ErrorIs(t, err, core.ErrBadInput)
			require.Less(t, len(err.Error()), maxErrLen)
			return
		}
		clk := coretest.NewClock(t0)
		m := coretest.StartMonitor(t, core.Config{Store: memory.New(),
			Clock: clk})
		require.NoError(t, m.Sync(t.Context(), snap))
		clk.Advance(time.Hour)
		r, err := m.Report(t.Context(), core.ReportQuery{})
		require.NoError(t, err)
		checkReport(t, r)
	})
}

// FuzzMonitor: random sequences of events, snapshots, node losses,
// restarts, time passing and clock steps never panic, never fail, and
// leave every report within its invariants: nothing after generated_at,
// which never goes back within a run; uptime within monitored time
// within age; ratios in [0, 1].
func FuzzMonitor(f *testing.F) {
	for _, seed := range [][]byte{
		{},
		{0, 1, 2, 1, 4, 9, 1, 1, 4, 9, 0, 1, 4, 200},
		{0, 1, 2, 1, 4, 5, 6, 60, 0, 1, 4, 3},
		{0, 1, 2, 1, 4, 5, 7, 60, 1, 1, 2, 5, 4, 3},
		{0, 1, 2, 1, 8, 0, 4, 50, 9, 3, 10, 20, 7, 90, 10, 1},
		{0, 1, 2, 1, 3, 1, 11, 255, 11, 0, 2, 9, 4, 255},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 256 {
			ops = ops[:256]
		}
		fz := &fuzzMonitor{t: t, ctx: t.Context(),
			clk: coretest.NewClock(t0), store: memory.New()}
		fz.start()
		for i := 0; i+1 < len(ops); i += 2 {
			fz.do(ops[i], ops[i+1])
			fz.check()
		}
		fz.clk.Advance(time.Hour)
		fz.check()
	})
}

// fuzzMonitor is the monitor FuzzMonitor drives.
type fuzzMonitor struct {
	t     *testing.T
	ctx   context.Context
	clk   *coretest.Clock
	store core.Store
	m     *core.Monitor

	// last is the newest generated_at of this run.
	last time.Time
}

func (fz *fuzzMonitor) start() {
	fz.m = coretest.StartMonitor(fz.t, core.Config{Store: fz.store,
		Clock: fz.clk})
	fz.last = time.Time{}
}

// do applies one operation with its argument.
func (fz *fuzzMonitor) do(op, arg byte) {
	t := fz.t
	p := peerN(1 + int(arg)%4)
	cp := chanN(1 + int(arg>>2)%8)
	apply := func(typ core.EventType, at time.Time) {
		t.Helper()
		ev := core.Event{Type: typ, Peer: p, Time: at}
		if typ == core.ChannelOpened || typ == core.ChannelClosed {
			ev.Channel = cp
		}
		require.NoError(t, fz.m.Apply(fz.ctx, ev))
	}
	switch op % 12 {
	case 0:
		apply(core.PeerOnline, time.Time{})
	case 1:
		apply(core.PeerOffline, time.Time{})
	case 2:
		apply(core.ChannelOpened, time.Time{})
	case 3:
		apply(core.ChannelClosed, time.Time{})
	case 4:
		fz.clk.Advance(time.Duration(arg) * 37 * time.Second)
	case 5:
		fz.clk.Advance(time.Duration(arg) * 10 * time.Millisecond)
	case 6:
		fz.clk.Step(time.Duration(arg) * time.Minute)
	case 7:
		fz.clk.Step(-time.Duration(arg) * time.Minute)
	case 8:
		require.NoError(t, fz.m.NodeLost(fz.ctx, time.Time{}))
	case 9:
		fz.sync(arg)
	case 10:
		require.NoError(t, fz.m.Stop())
		fz.clk.Advance(time.Duration(arg) * time.Second)
		fz.start()
	case 11:
		// An event stamped up to two hours from now, either way.
		at := fz.clk.Now().Add(time.Duration(int(arg)-128) *
			time.Minute)
		typ := core.PeerOnline
		if arg&1 == 1 {
			typ = core.PeerOffline
		}
		apply(typ, at)
	}
}

// sync passes a snapshot: the channels the monitor holds open, less the
// one arg names, and the peers whose bit is set in arg online.
func (fz *fuzzMonitor) sync(arg byte) {
	open, err := fz.m.OpenChannels(fz.ctx, nil)
	require.NoError(fz.t, err)
	drop := chanN(1 + int(arg>>2)%8)
	var snap core.Snapshot
	for _, cp := range open {
		if cp == drop {
			continue
		}
		info, err := fz.m.ChannelInfo(fz.ctx, cp)
		require.NoError(fz.t, err)
		snap.Channels = append(snap.Channels,
			core.SnapshotChannel{Point: cp, Peer: info.Peer})
	}
	for i := 0; i < 4; i++ {
		if arg&(1<<i) != 0 {
			snap.OnlinePeers = append(snap.OnlinePeers, peerN(1+i))
		}
	}
	require.NoError(fz.t, fz.m.Sync(fz.ctx, snap))
}

// check holds the report and every channel's figures to the invariants.
func (fz *fuzzMonitor) check() {
	t := fz.t
	r, err := fz.m.Report(fz.ctx, core.ReportQuery{Window: "2h"})
	require.NoError(t, err)
	checkReport(t, r)
	require.False(t, r.GeneratedAt.Before(fz.last),
		"generated_at %v before %v", r.GeneratedAt.Time, fz.last)
	fz.last = r.GeneratedAt.Time
	for _, c := range r.Channels {
		cp, err := core.ParseChannelPoint(c.ChannelPoint)
		require.NoError(t, err)
		info, err := fz.m.ChannelInfo(fz.ctx, cp)
		if errors.Is(err, core.ErrChannelNotFound) {
			continue
		}
		require.NoError(t, err)
		require.LessOrEqual(t, info.Uptime, info.Lifetime)
		require.LessOrEqual(t, info.Lifetime, info.Age)
		for name, w := range c.Windows {
			require.LessOrEqual(t, w.MonitoredSeconds,
				c.LifetimeSeconds, name)
		}
	}
}
