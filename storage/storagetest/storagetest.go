// Package storagetest is the conformance suite every core.Store backend
// runs, so that the backends cannot drift apart.
//
// A backend's test calls Run with a function that opens a fresh, empty
// store and, for a persistent backend, one that closes a store and opens
// its location again. With a reopener, every check of the suite is made
// twice: on the open store and again after a reopen.
//
// Beyond core.Store's contract, the suite holds every backend to the same
// details: Load orders peers, logs and channels by key (peer id bytes;
// txid bytes, then output index), returns times equal (time.Equal) to the
// ones written, and returns copies; a rejected log run fails the whole
// batch with an error wrapping storage.ErrLogSeq; calls after Close fail
// with storage.ErrClosed; Sync may run beside Write.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage"
	"github.com/stretchr/testify/require"
)

// Opener returns a new, empty store for one test. It registers the
// store's Close with t.Cleanup.
type Opener func(t *testing.T) core.Store

// Reopener closes s and opens the same location again, returning the new
// store; the suite closes it. A backend without persistence passes a nil
// Reopener to Run.
type Reopener func(t *testing.T, s core.Store) core.Store

// Run runs the conformance suite against the backend that open creates.
// reopen is nil for a backend that keeps nothing across Close.
func Run(t *testing.T, open Opener, reopen Reopener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"EmptyLoad", testEmptyLoad},
		{"MetaReplace", testMetaReplace},
		{"GapsAppend", testGapsAppend},
		{"PeerUpsert", testPeerUpsert},
		{"LogsAppend", testLogsAppend},
		{"LogsSamePeerTwiceInBatch", testLogsSamePeerTwice},
		{"LogSeqRejected", testLogSeqRejected},
		{"ChannelUpsert", testChannelUpsert},
		{"DeleteChannels", testDeleteChannels},
		{"BatchAtomic", testBatchAtomic},
		{"LoadReturnsCopies", testLoadReturnsCopies},
		{"BatchNotRetained", testBatchNotRetained},
		{"TimesRoundTrip", testTimesRoundTrip},
		{"LoadOrder", testLoadOrder},
		{"SyncDuringWrite", testSyncDuringWrite},
		{"CanceledContext", testCanceledContext},
		{"CloseTwice", testCloseTwice},
		{"UseAfterClose", testUseAfterClose},
		{"EveryField", testEveryField},
		{"AlertUpsert", testAlertUpsert},
		{"AlertDelete", testAlertDelete},
		{"AlertNotShared", testAlertNotShared},
		{"SamplesOrderAndCut", testSamplesOrderAndCut},
		{"FilledAppend", testFilledAppend},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &harness{t: t, s: open(t), reopen: reopen}
			t.Cleanup(func() {
				// The store a reopen left behind.
				require.NoError(t, h.s.Close())
			})
			tc.fn(t, h)
		})
	}
}

// harness holds the store under test, which a reopen replaces.
type harness struct {
	t      *testing.T
	s      core.Store
	reopen Reopener
}

func (h *harness) write(b *core.Batch) {
	h.t.Helper()
	require.NoError(h.t, h.s.Write(context.Background(), b))
}

func (h *harness) load() *core.StoredState {
	h.t.Helper()
	st, err := h.s.Load(context.Background())
	require.NoError(h.t, err)
	require.NotNil(h.t, st)
	return st
}

// check asserts that the store holds want, and again after a reopen when
// the backend persists.
func (h *harness) check(want *core.StoredState) {
	h.t.Helper()
	want = Normalize(want)
	require.Equal(h.t, want, Normalize(h.load()))
	if h.reopen == nil {
		return
	}
	h.s = h.reopen(h.t, h.s)
	require.Equal(h.t, want, Normalize(h.load()), "after reopen")
}

// Normalize makes two states comparable with require.Equal: every time is
// turned into UTC without a monotonic reading (so equal instants compare
// equal), and empty lists become nil. Every record is copied whole, so a
// field added to core's records is compared too.
func Normalize(st *core.StoredState) *core.StoredState {
	out := &core.StoredState{Meta: st.Meta}
	out.Meta.MonitoringSince = utc(st.Meta.MonitoringSince)
	out.Meta.Heartbeat = utc(st.Meta.Heartbeat)
	for _, g := range st.Gaps {
		g.Start = utc(g.Start)
		g.End = utc(g.End)
		out.Gaps = append(out.Gaps, g)
	}
	for _, p := range st.Peers {
		p.TrackedSince = utc(p.TrackedSince)
		p.StateSince = utc(p.StateSince)
		p.LastFlap = utc(p.LastFlap)
		p.LastEvent = utc(p.LastEvent)
		if p.Staged != nil {
			ev := *p.Staged
			ev.Time = utc(ev.Time)
			p.Staged = &ev
		}
		out.Peers = append(out.Peers, p)
	}
	for _, c := range st.Channels {
		c.OpenedAt = utc(c.OpenedAt)
		c.NodeOpenedAt = utc(c.NodeOpenedAt)
		c.ClosedAt = utc(c.ClosedAt)
		out.Channels = append(out.Channels, c)
	}
	for _, l := range st.Logs {
		evs := make([]core.LogEvent, len(l.Events))
		for i, ev := range l.Events {
			ev.Time = utc(ev.Time)
			evs[i] = ev
		}
		l.Events = evs
		out.Logs = append(out.Logs, l)
	}
	for _, a := range st.Alerts {
		a.CreatedAt = utc(a.CreatedAt)
		a.NextAttempt = utc(a.NextAttempt)
		if len(a.Body) == 0 {
			a.Body = nil
		}
		if len(a.Pending) == 0 {
			a.Pending = nil
		}
		out.Alerts = append(out.Alerts, a)
	}
	for _, p := range st.Samples {
		p.Time = utc(p.Time)
		out.Samples = append(out.Samples, p)
	}
	for _, f := range st.Filled {
		f.Start = utc(f.Start)
		f.End = utc(f.End)
		out.Filled = append(out.Filled, f)
	}
	return out
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Round(0).UTC()
}

// base is the suite's reference instant, in a zone that is not UTC.
var base = time.Date(2024, 3, 1, 12, 30, 15, 123456789,
	time.FixedZone("UTC+2", 2*3600))

func at(sec int) time.Time {
	return base.Add(time.Duration(sec) * time.Second)
}

func peerID(n byte) core.PeerID {
	var p core.PeerID
	p[0] = 0x02
	p[1] = n
	p[32] = n ^ 0x5a
	return p
}

func chanPoint(n byte, index uint32) core.ChannelPoint {
	var cp core.ChannelPoint
	cp.Txid[0] = n
	cp.Txid[31] = ^n
	cp.Index = index
	return cp
}

func fullPeer(n byte) core.PeerRecord {
	return core.PeerRecord{
		Peer:         peerID(n),
		TrackedSince: at(1),
		Online:       true,
		StateSince:   at(2),
		FlapCount:    int(n) + 7,
		LastFlap:     at(3),
		Staged: &core.LogEvent{
			Time:  at(4),
			State: core.StateOffline,
		},
		LastEvent: at(4),
	}
}

func events(start int, n int) []core.LogEvent {
	evs := make([]core.LogEvent, n)
	for i := range evs {
		evs[i] = core.LogEvent{
			Time:  at(start + i),
			State: core.State(i % 3),
		}
	}
	return evs
}

func testEmptyLoad(t *testing.T, h *harness) {
	st := h.load()
	require.Equal(t, core.Meta{}, st.Meta)
	require.Empty(t, st.Gaps)
	require.Empty(t, st.Peers)
	require.Empty(t, st.Channels)
	require.Empty(t, st.Logs)
	h.check(&core.StoredState{})
}

func testMetaReplace(t *testing.T, h *harness) {
	first := core.Meta{MonitoringSince: at(0), Heartbeat: at(10)}
	h.write(&core.Batch{Meta: &first})
	h.check(&core.StoredState{Meta: first})

	second := core.Meta{MonitoringSince: at(0), Heartbeat: at(20)}
	h.write(&core.Batch{Meta: &second})
	h.check(&core.StoredState{Meta: second})

	// A batch without a meta record leaves it alone.
	h.write(&core.Batch{Gaps: []core.Gap{{Start: at(1), End: at(2)}}})
	h.check(&core.StoredState{
		Meta: second,
		Gaps: []core.Gap{{Start: at(1), End: at(2)}},
	})
}

func testGapsAppend(t *testing.T, h *harness) {
	var want []core.Gap
	for i := 0; i < 20; i++ {
		// Batches of one, two and three gaps, some out of time order:
		// the store keeps the order they were written in.
		n := i%3 + 1
		var b core.Batch
		for j := 0; j < n; j++ {
			s := (i*10 + j) * 100
			if i%4 == 0 {
				s = -s
			}
			g := core.Gap{Start: at(s), End: at(s + 50)}
			b.Gaps = append(b.Gaps, g)
			want = append(want, g)
		}
		h.write(&b)
	}
	h.check(&core.StoredState{Gaps: want})
}

func testPeerUpsert(t *testing.T, h *harness) {
	tests := []struct {
		name string
		rec  core.PeerRecord
	}{
		{
			name: "all fields with staged event",
			rec:  fullPeer(1),
		},
		{
			name: "staged nil",
			rec: core.PeerRecord{
				Peer:         peerID(1),
				TrackedSince: at(1),
				Online:       false,
				StateSince:   at(5),
				FlapCount:    3,
				LastFlap:     at(5),
				LastEvent:    at(5),
			},
		},
		{
			name: "zero last flap and unknown staged state",
			rec: core.PeerRecord{
				Peer:         peerID(1),
				TrackedSince: at(1),
				Online:       true,
				StateSince:   at(6),
				Staged: &core.LogEvent{
					Time:  at(6),
					State: core.StateUnknown,
				},
				LastEvent: at(6),
			},
		},
		{
			name: "large flap count",
			rec: core.PeerRecord{
				Peer:         peerID(1),
				TrackedSince: at(-86400 * 400),
				StateSince:   at(7),
				FlapCount:    1<<40 + 3,
				LastFlap:     at(7),
				LastEvent:    at(7),
			},
		},
	}
	other := fullPeer(2)
	h.write(&core.Batch{Peers: []core.PeerRecord{other}})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.write(&core.Batch{Peers: []core.PeerRecord{tc.rec}})
			h.check(&core.StoredState{
				Peers: []core.PeerRecord{tc.rec, other},
			})
		})
	}
}

func testLogsAppend(t *testing.T, h *harness) {
	const (
		peers   = 3
		batches = 1500
	)
	want := make([][]core.LogEvent, peers)
	write := func(from, to int) {
		for i := from; i < to; i++ {
			p := i % peers
			n := i%4 + 1
			evs := events(i*10, n)
			h.write(&core.Batch{Logs: []core.PeerLog{{
				Peer:   peerID(byte(p)),
				Seq:    uint64(len(want[p])),
				Events: evs,
			}}})
			want[p] = append(want[p], evs...)
		}
	}
	expect := func() *core.StoredState {
		st := &core.StoredState{}
		for p := range want {
			st.Logs = append(st.Logs, core.PeerLog{
				Peer:   peerID(byte(p)),
				Events: want[p],
			})
		}
		return st
	}

	write(0, batches)
	h.check(expect())

	// The log goes on where it ended, across a reopen too.
	write(batches, batches+batches/2)
	h.check(expect())
}

func testLogsSamePeerTwice(t *testing.T, h *harness) {
	p := peerID(1)
	first, second := events(0, 2), events(100, 3)
	h.write(&core.Batch{Logs: []core.PeerLog{
		{Peer: p, Seq: 0, Events: first},
		{Peer: peerID(2), Seq: 0, Events: events(50, 1)},
		{Peer: p, Seq: 2, Events: second},
	}})
	h.check(&core.StoredState{Logs: []core.PeerLog{
		{Peer: p, Events: append(append([]core.LogEvent{}, first...),
			second...)},
		{Peer: peerID(2), Events: events(50, 1)},
	}})
}

func testLogSeqRejected(t *testing.T, h *harness) {
	p := peerID(1)
	meta := core.Meta{MonitoringSince: at(0)}
	gap := core.Gap{Start: at(0), End: at(1)}
	ch := core.ChannelRecord{Point: chanPoint(1, 0), Peer: p,
		OpenedAt: at(0)}

	h.write(&core.Batch{
		Meta:     &meta,
		Gaps:     []core.Gap{gap},
		Peers:    []core.PeerRecord{fullPeer(1)},
		Channels: []core.ChannelRecord{ch},
		Logs: []core.PeerLog{
			{Peer: p, Seq: 0, Events: events(0, 5)},
		},
	})
	want := &core.StoredState{
		Meta:     meta,
		Gaps:     []core.Gap{gap},
		Peers:    []core.PeerRecord{fullPeer(1)},
		Channels: []core.ChannelRecord{ch},
		Logs:     []core.PeerLog{{Peer: p, Events: events(0, 5)}},
	}

	tests := []struct {
		name string
		logs []core.PeerLog
	}{
		{
			name: "hole",
			logs: []core.PeerLog{{Peer: p, Seq: 6,
				Events: events(10, 1)}},
		},
		{
			name: "duplicate",
			logs: []core.PeerLog{{Peer: p, Seq: 4,
				Events: events(10, 1)}},
		},
		{
			name: "restart from zero",
			logs: []core.PeerLog{{Peer: p, Seq: 0,
				Events: events(10, 1)}},
		},
		{
			name: "new peer not at zero",
			logs: []core.PeerLog{{Peer: peerID(9), Seq: 1,
				Events: events(10, 1)}},
		},
		{
			name: "good run then bad run",
			logs: []core.PeerLog{
				{Peer: peerID(9), Seq: 0,
					Events: events(10, 1)},
				{Peer: p, Seq: 5, Events: events(10, 2)},
				{Peer: p, Seq: 8, Events: events(20, 1)},
			},
		},
		{
			name: "same peer twice without counting the first",
			logs: []core.PeerLog{
				{Peer: p, Seq: 5, Events: events(10, 2)},
				{Peer: p, Seq: 5, Events: events(20, 1)},
			},
		},
		{
			name: "many runs, the last one wrong",
			logs: func() []core.PeerLog {
				var ls []core.PeerLog
				for i := 0; i < 20; i++ {
					ls = append(ls, core.PeerLog{
						Peer:   peerID(byte(100 + i)),
						Events: events(i, 2),
					})
				}
				return append(ls, core.PeerLog{Peer: p, Seq: 3,
					Events: events(30, 1)})
			}(),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			other := core.Meta{MonitoringSince: at(50),
				Heartbeat: at(60)}
			err := h.s.Write(context.Background(), &core.Batch{
				Meta:  &other,
				Gaps:  []core.Gap{{Start: at(70), End: at(80)}},
				Peers: []core.PeerRecord{fullPeer(3)},
				Logs:  tc.logs,
				Channels: []core.ChannelRecord{{
					Point: chanPoint(3, 1),
					Peer:  peerID(3),
				}},
				DeleteChannels: []core.ChannelPoint{ch.Point},
			})
			require.Error(t, err)
			require.ErrorIs(t, err, storage.ErrLogSeq)
			require.Contains(t, err.Error(), "seq")
			h.check(want)
		})
	}
	h.t = t

	// The store still takes the right continuation.
	h.write(&core.Batch{Logs: []core.PeerLog{
		{Peer: p, Seq: 5, Events: events(10, 1)},
	}})
	want.Logs[0].Events = append(events(0, 5), events(10, 1)...)
	h.check(want)
}

func testChannelUpsert(t *testing.T, h *harness) {
	open := core.ChannelRecord{
		Point:          chanPoint(1, 3),
		Peer:           peerID(1),
		ShortChannelID: "800000x12x3",
		OpenedAt:       at(0),
		OpenedAtSource: core.OpenedAtSeen,
		FundingHeight:  800000,
	}
	// Learned from a snapshot, with an estimated open time a day before
	// the monitor started counting it.
	other := core.ChannelRecord{
		Point:          chanPoint(2, 0),
		Peer:           peerID(2),
		OpenedAt:       at(5),
		NodeOpenedAt:   at(-86400),
		OpenedAtSource: core.OpenedAtEstimated,
		FundingHeight:  812345,
	}
	h.write(&core.Batch{Channels: []core.ChannelRecord{open, other}})
	h.check(&core.StoredState{
		Channels: []core.ChannelRecord{open, other},
	})

	closed := open
	closed.ClosedAt = at(3600)
	closed.Frozen = map[string]core.WindowNumbers{
		"1d": {Monitored: 24 * time.Hour, Uptime: 23 * time.Hour},
		"7d": {Monitored: 3 * time.Hour, Uptime: 1},
		"lifetime": {
			Monitored: time.Hour + time.Nanosecond,
			Uptime:    0,
		},
	}
	h.write(&core.Batch{Channels: []core.ChannelRecord{closed}})
	h.check(&core.StoredState{
		Channels: []core.ChannelRecord{closed, other},
	})

	// Replacing a closed record with an open one drops the frozen
	// numbers and the close time.
	h.write(&core.Batch{Channels: []core.ChannelRecord{open}})
	h.check(&core.StoredState{
		Channels: []core.ChannelRecord{open, other},
	})
}

func testDeleteChannels(t *testing.T, h *harness) {
	a := core.ChannelRecord{Point: chanPoint(1, 0), Peer: peerID(1),
		OpenedAt: at(0)}
	b := core.ChannelRecord{Point: chanPoint(1, 1), Peer: peerID(1),
		OpenedAt: at(1), ClosedAt: at(2),
		Frozen: map[string]core.WindowNumbers{"lifetime": {
			Monitored: time.Second}}}
	c := core.ChannelRecord{Point: chanPoint(2, 0), Peer: peerID(2),
		OpenedAt: at(3)}
	h.write(&core.Batch{Channels: []core.ChannelRecord{a, b, c}})

	h.write(&core.Batch{DeleteChannels: []core.ChannelPoint{
		b.Point, chanPoint(9, 9), chanPoint(1, 2),
	}})
	h.check(&core.StoredState{Channels: []core.ChannelRecord{a, c}})

	// Deleting again, and deleting only unknown channels, is fine.
	h.write(&core.Batch{DeleteChannels: []core.ChannelPoint{b.Point}})
	h.check(&core.StoredState{Channels: []core.ChannelRecord{a, c}})

	// A channel written and deleted in one batch is gone.
	d := core.ChannelRecord{Point: chanPoint(3, 0), Peer: peerID(3)}
	h.write(&core.Batch{
		Channels:       []core.ChannelRecord{d},
		DeleteChannels: []core.ChannelPoint{d.Point, a.Point},
	})
	h.check(&core.StoredState{Channels: []core.ChannelRecord{c}})
}

func testBatchAtomic(t *testing.T, h *harness) {
	// A large batch of every kind lands as a whole.
	meta := core.Meta{MonitoringSince: at(0), Heartbeat: at(9)}
	b := core.Batch{Meta: &meta}
	want := &core.StoredState{Meta: meta}
	for i := 0; i < 200; i++ {
		n := byte(i)
		g := core.Gap{Start: at(i * 10), End: at(i*10 + 5)}
		p := fullPeer(n)
		l := core.PeerLog{Peer: p.Peer, Events: events(i, 3)}
		c := core.ChannelRecord{Point: chanPoint(n, 1), Peer: p.Peer,
			OpenedAt: at(i)}
		b.Gaps = append(b.Gaps, g)
		b.Peers = append(b.Peers, p)
		b.Logs = append(b.Logs, l)
		b.Channels = append(b.Channels, c)
		want.Gaps = append(want.Gaps, g)
	}
	h.write(&b)
	st := h.load()
	require.Len(t, st.Gaps, 200)
	require.Len(t, st.Peers, 200)
	require.Len(t, st.Logs, 200)
	require.Len(t, st.Channels, 200)

	// The same batch again is rejected as a whole (its logs would
	// duplicate), so nothing of it is appended.
	err := h.s.Write(context.Background(), &b)
	require.ErrorIs(t, err, storage.ErrLogSeq)
	st2 := h.load()
	require.Equal(t, Normalize(st), Normalize(st2))
}

func testLoadReturnsCopies(t *testing.T, h *harness) {
	ch := core.ChannelRecord{Point: chanPoint(1, 0), Peer: peerID(1),
		OpenedAt: at(0), ClosedAt: at(1),
		Frozen: map[string]core.WindowNumbers{"lifetime": {
			Monitored: time.Second, Uptime: time.Second}}}
	meta := core.Meta{MonitoringSince: at(0)}
	h.write(&core.Batch{
		Meta:     &meta,
		Gaps:     []core.Gap{{Start: at(0), End: at(1)}},
		Peers:    []core.PeerRecord{fullPeer(1)},
		Channels: []core.ChannelRecord{ch},
		Logs: []core.PeerLog{{Peer: peerID(1),
			Events: events(0, 3)}},
	})
	want := Normalize(h.load())

	st := h.load()
	st.Meta.Heartbeat = at(99)
	st.Gaps[0].End = at(99)
	st.Peers[0].FlapCount = 99
	st.Peers[0].Staged.State = core.StateUnknown
	st.Peers[0].Staged.Time = at(99)
	st.Channels[0].Frozen["lifetime"] = core.WindowNumbers{}
	st.Channels[0].Frozen["new"] = core.WindowNumbers{Uptime: 1}
	st.Logs[0].Events[0].State = core.StateUnknown
	st.Logs[0].Events = append(st.Logs[0].Events[:1], core.LogEvent{})

	require.Equal(t, want, Normalize(h.load()))

	// Nor does a later write change what an earlier Load returned.
	before := Normalize(h.load())
	kept := h.load()
	h.write(&core.Batch{
		Gaps: []core.Gap{{Start: at(5), End: at(6)}},
		Logs: []core.PeerLog{{Peer: peerID(1), Seq: 3,
			Events: events(10, 1)}},
	})
	require.Equal(t, before, Normalize(kept))
	require.Len(t, h.load().Logs[0].Events, 4)
}

func testBatchNotRetained(t *testing.T, h *harness) {
	meta := core.Meta{MonitoringSince: at(0)}
	b := &core.Batch{
		Meta:  &meta,
		Gaps:  []core.Gap{{Start: at(0), End: at(1)}},
		Peers: []core.PeerRecord{fullPeer(1)},
		Logs: []core.PeerLog{{Peer: peerID(1),
			Events: events(0, 2)}},
		Channels: []core.ChannelRecord{{Point: chanPoint(1, 0),
			Peer: peerID(1), OpenedAt: at(0), ClosedAt: at(1),
			Frozen: map[string]core.WindowNumbers{"1d": {
				Monitored: 2}}}},
	}
	h.write(b)
	want := Normalize(h.load())

	// The caller reuses every slice, pointer and map of the batch.
	meta.Heartbeat = at(50)
	b.Gaps[0].End = at(50)
	b.Peers[0].FlapCount = 50
	b.Peers[0].Staged.State = core.StateUnknown
	b.Logs[0].Events[0].State = core.StateUnknown
	b.Channels[0].Frozen["1d"] = core.WindowNumbers{}
	b.Channels[0].ShortChannelID = "1x1x1"
	b.Reset()
	b.Gaps = append(b.Gaps, core.Gap{Start: at(60), End: at(70)})

	h.check(want)
}

func testTimesRoundTrip(t *testing.T, h *harness) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("EST", -5*3600)
	}
	tests := []struct {
		name string
		t    time.Time
	}{
		{"utc", time.Date(2023, 1, 2, 3, 4, 5, 6, time.UTC)},
		{"local", time.Date(2023, 1, 2, 3, 4, 5, 999999999,
			time.Local)},
		{"zone", time.Date(2023, 7, 2, 3, 4, 5, 1, ny)},
		{"monotonic", time.Now()},
		{"before 1970", time.Date(1969, 12, 31, 23, 59, 59,
			500000000, time.UTC)},
		{"year 1", time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
		{"far future", time.Date(2400, 2, 29, 0, 0, 0, 1, time.UTC)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			tm := tc.t
			p := peerID(byte(i))
			meta := core.Meta{MonitoringSince: tm, Heartbeat: tm}
			rec := core.PeerRecord{Peer: p, TrackedSince: tm,
				StateSince: tm, LastFlap: tm, LastEvent: tm,
				Staged: &core.LogEvent{Time: tm}}
			h.write(&core.Batch{
				Meta:  &meta,
				Gaps:  []core.Gap{{Start: tm, End: tm}},
				Peers: []core.PeerRecord{rec},
				Logs: []core.PeerLog{{Peer: p,
					Events: []core.LogEvent{{Time: tm}}}},
				Channels: []core.ChannelRecord{{
					Point:    chanPoint(byte(i), 0),
					Peer:     p,
					OpenedAt: tm,
					ClosedAt: tm,
				}},
			})
			st := h.load()
			eq := func(what string, got time.Time) {
				require.Truef(t, got.Equal(tm), "%s: got %v, "+
					"want %v", what, got, tm)
			}
			eq("meta since", st.Meta.MonitoringSince)
			eq("heartbeat", st.Meta.Heartbeat)
			eq("gap start", st.Gaps[len(st.Gaps)-1].Start)
			eq("gap end", st.Gaps[len(st.Gaps)-1].End)
			pr := findPeer(t, st, p)
			eq("tracked since", pr.TrackedSince)
			eq("state since", pr.StateSince)
			eq("last flap", pr.LastFlap)
			eq("last event", pr.LastEvent)
			eq("staged", pr.Staged.Time)
			for _, l := range st.Logs {
				if l.Peer == p {
					eq("log", l.Events[0].Time)
				}
			}
			for _, c := range st.Channels {
				if c.Point == chanPoint(byte(i), 0) {
					eq("opened", c.OpenedAt)
					eq("closed", c.ClosedAt)
				}
			}
		})
	}
	h.t = t

	// Zero times stay zero.
	p := peerID(200)
	h.write(&core.Batch{
		Meta:  &core.Meta{},
		Peers: []core.PeerRecord{{Peer: p}},
		Channels: []core.ChannelRecord{{Point: chanPoint(200, 0),
			Peer: p}},
	})
	st := h.load()
	require.True(t, st.Meta.MonitoringSince.IsZero())
	require.True(t, st.Meta.Heartbeat.IsZero())
	pr := findPeer(t, st, p)
	require.Equal(t, core.PeerRecord{Peer: p}, normalizePeer(pr))
	for _, c := range st.Channels {
		if c.Point == chanPoint(200, 0) {
			require.True(t, c.OpenedAt.IsZero())
			require.True(t, c.ClosedAt.IsZero())
			require.Nil(t, c.Frozen)
		}
	}
}

func findPeer(t *testing.T, st *core.StoredState,
	p core.PeerID) core.PeerRecord {

	t.Helper()
	for _, r := range st.Peers {
		if r.Peer == p {
			return r
		}
	}
	require.FailNow(t, fmt.Sprintf("peer %v not loaded", p))
	return core.PeerRecord{}
}

func normalizePeer(p core.PeerRecord) core.PeerRecord {
	st := Normalize(&core.StoredState{Peers: []core.PeerRecord{p}})
	return st.Peers[0]
}

func testLoadOrder(t *testing.T, h *harness) {
	// Written in a scrambled order, loaded ordered by key.
	var b core.Batch
	for i := 0; i < 50; i++ {
		n := byte((i * 37) % 50)
		b.Peers = append(b.Peers, core.PeerRecord{Peer: peerID(n)})
		b.Logs = append(b.Logs, core.PeerLog{Peer: peerID(n),
			Events: events(i, 1)})
		b.Channels = append(b.Channels,
			core.ChannelRecord{Point: chanPoint(n, uint32(300-i))},
			core.ChannelRecord{Point: chanPoint(n, uint32(i))})
	}
	h.write(&b)
	st := h.load()
	require.Len(t, st.Peers, 50)
	require.Len(t, st.Logs, 50)
	require.Len(t, st.Channels, 100)
	for i := 1; i < 50; i++ {
		require.Negative(t, bytes.Compare(st.Peers[i-1].Peer[:],
			st.Peers[i].Peer[:]))
		require.Negative(t, bytes.Compare(st.Logs[i-1].Peer[:],
			st.Logs[i].Peer[:]))
	}
	for i := 1; i < 100; i++ {
		a, c := st.Channels[i-1].Point, st.Channels[i].Point
		cmp := bytes.Compare(a.Txid[:], c.Txid[:])
		require.True(t, cmp < 0 || cmp == 0 && a.Index < c.Index,
			"channel %v before %v", a, c)
	}
}

func testCanceledContext(t *testing.T, h *harness) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := h.s.Write(ctx, &core.Batch{
		Gaps: []core.Gap{{Start: at(0), End: at(1)}},
	})
	require.ErrorIs(t, err, context.Canceled)
	_, err = h.s.Load(ctx)
	require.ErrorIs(t, err, context.Canceled)
	h.check(&core.StoredState{})
}

func testCloseTwice(t *testing.T, h *harness) {
	h.write(&core.Batch{Gaps: []core.Gap{{Start: at(0), End: at(1)}}})
	require.NoError(t, h.s.Sync())
	require.NoError(t, h.s.Close())
	require.NoError(t, h.s.Close())
}

func testUseAfterClose(t *testing.T, h *harness) {
	require.NoError(t, h.s.Close())
	ctx := context.Background()

	err := h.s.Write(ctx, &core.Batch{
		Gaps: []core.Gap{{Start: at(0), End: at(1)}},
	})
	require.ErrorIs(t, err, storage.ErrClosed)
	require.Contains(t, err.Error(), "closed")

	_, err = h.s.Load(ctx)
	require.ErrorIs(t, err, storage.ErrClosed)

	err = h.s.Sync()
	require.True(t, errors.Is(err, storage.ErrClosed), "sync: %v", err)
}

// testSyncDuringWrite runs Sync beside a stream of writes, as the
// monitor's timer does.
func testSyncDuringWrite(t *testing.T, h *harness) {
	done := make(chan struct{})
	syncErr := make(chan error, 1)
	go func() {
		defer close(syncErr)
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := h.s.Sync(); err != nil {
				syncErr <- err
				return
			}
		}
	}()
	const peers, batches = 13, 3000
	want := make([][]core.LogEvent, peers)
	for i := 0; i < batches; i++ {
		p := i % peers
		ev := core.LogEvent{Time: at(i), State: core.State(i % 2)}
		rec := core.PeerRecord{Peer: peerID(byte(p)), FlapCount: i,
			LastEvent: ev.Time}
		err := h.s.Write(context.Background(), &core.Batch{
			Peers: []core.PeerRecord{rec},
			Logs: []core.PeerLog{{Peer: rec.Peer,
				Seq: uint64(len(want[p])), Events: []core.LogEvent{ev}}},
		})
		require.NoError(t, err)
		want[p] = append(want[p], ev)
	}
	close(done)
	require.NoError(t, <-syncErr)

	st := &core.StoredState{}
	for p := range want {
		last := p + peers*((batches-1-p)/peers)
		st.Peers = append(st.Peers, core.PeerRecord{
			Peer:      peerID(byte(p)),
			FlapCount: last,
			LastEvent: at(last),
		})
		st.Logs = append(st.Logs, core.PeerLog{Peer: peerID(byte(p)),
			Events: want[p]})
	}
	h.check(st)
}

// requireNoZeroField fails when a field of the struct v is its zero
// value: the record then does not exercise every field, and a field added
// to core's records later would go unchecked.
func requireNoZeroField(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for i := 0; i < rv.NumField(); i++ {
		require.Falsef(t, rv.Field(i).IsZero(), "%s.%s is not set: "+
			"give it a value here and make sure the stores keep it",
			rv.Type().Name(), rv.Type().Field(i).Name)
	}
}

// testEveryField writes records with every field set and compares the
// whole records loaded back.
func testEveryField(t *testing.T, h *harness) {
	meta := core.Meta{MonitoringSince: at(1), Heartbeat: at(2)}
	gap := core.Gap{Start: at(3), End: at(4)}
	peer := fullPeer(5)
	staged := core.LogEvent{Time: at(4), State: core.StateUnknown}
	peer.Staged = &staged
	ev := core.LogEvent{Time: at(6), State: core.StateOnline}
	log := core.PeerLog{Peer: peer.Peer, Seq: 1,
		Events: []core.LogEvent{ev}}
	ch := core.ChannelRecord{
		Point:          chanPoint(5, 2),
		Peer:           peer.Peer,
		ShortChannelID: "800000x1x2",
		OpenedAt:       at(7),
		NodeOpenedAt:   at(-7),
		OpenedAtSource: core.OpenedAtEstimated,
		FundingHeight:  800_000,
		ClosedAt:       at(8),
		Frozen: map[string]core.WindowNumbers{"1d": {
			Monitored: time.Hour, Uptime: time.Minute}},
	}
	alert := fullAlert("offline/5")
	sample := core.PeerSample{Peer: peer.Peer, Time: at(9),
		Kind: core.SamplePing, RTT: 1234567 * time.Nanosecond}
	filled := core.FilledSpan{Start: at(-9), End: at(1), Backfill: true}
	for _, v := range []any{meta, gap, peer, *peer.Staged, ev, log, ch,
		ch.Frozen["1d"], sample, filled, alert} {

		requireNoZeroField(t, v)
	}

	first := core.LogEvent{Time: at(5), State: core.StateOffline}
	h.write(&core.Batch{
		Meta:  &meta,
		Gaps:  []core.Gap{gap},
		Peers: []core.PeerRecord{peer},
		Logs: []core.PeerLog{{Peer: peer.Peer,
			Events: []core.LogEvent{first}}, log},
		Channels: []core.ChannelRecord{ch},
		Alerts:   []core.AlertRecord{alert},
		Samples:  []core.PeerSample{sample},
		Filled:   []core.FilledSpan{filled},
	})
	h.check(&core.StoredState{
		Meta:     meta,
		Gaps:     []core.Gap{gap},
		Peers:    []core.PeerRecord{peer},
		Logs:     []core.PeerLog{{Peer: peer.Peer, Events: []core.LogEvent{first, ev}}},
		Channels: []core.ChannelRecord{ch},
		Alerts:   []core.AlertRecord{alert},
		Samples:  []core.PeerSample{sample},
		Filled:   []core.FilledSpan{filled},
	})
}

// testSamplesOrderAndCut writes samples out of time order, with ties, and
// cuts old ones: Load returns them by time, ties in write order, none
// older than the latest cut, and a cut applies before the samples of its
// own batch.
func testSamplesOrderAndCut(t *testing.T, h *harness) {
	ping := func(peer byte, sec int, rtt time.Duration) core.PeerSample {
		return core.PeerSample{Peer: peerID(peer), Time: at(sec),
			Kind: core.SamplePing, RTT: rtt}
	}
	fail := core.PeerSample{Peer: peerID(2), Time: at(5),
		Kind: core.SampleConnectFail}
	h.write(&core.Batch{Samples: []core.PeerSample{
		ping(1, 10, 3*time.Millisecond), ping(1, -20, time.Second),
		ping(2, 5, time.Millisecond)}})
	h.write(&core.Batch{Samples: []core.PeerSample{fail,
		ping(1, 5, 2*time.Millisecond)}})
	h.check(&core.StoredState{Samples: []core.PeerSample{
		ping(1, -20, time.Second), ping(2, 5, time.Millisecond), fail,
		ping(1, 5, 2*time.Millisecond), ping(1, 10, 3*time.Millisecond),
	}})

	// The cut removes what is older, not what is at it, and an older
	// sample of its own batch too.
	h.write(&core.Batch{DeleteSamplesBefore: at(5),
		Samples: []core.PeerSample{ping(3, 1, time.Minute),
			ping(3, 7, time.Minute)}})
	h.check(&core.StoredState{Samples: []core.PeerSample{
		ping(2, 5, time.Millisecond), fail,
		ping(1, 5, 2*time.Millisecond), ping(3, 7, time.Minute),
		ping(1, 10, 3*time.Millisecond),
	}})

	// A batch without a cut leaves the samples alone.
	h.write(&core.Batch{Gaps: []core.Gap{{Start: at(1), End: at(2)}}})
	h.write(&core.Batch{DeleteSamplesBefore: at(6)})
	h.check(&core.StoredState{
		Gaps: []core.Gap{{Start: at(1), End: at(2)}},
		Samples: []core.PeerSample{ping(3, 7, time.Minute),
			ping(1, 10, 3*time.Millisecond)},
	})
	require.False(t, (&core.Batch{DeleteSamplesBefore: at(1)}).Empty(),
		"a batch with only a cut is not empty")
}

// testFilledAppend appends filled spans over several batches: they come
// back in the order written.
func testFilledAppend(t *testing.T, h *harness) {
	var want []core.FilledSpan
	for i := 0; i < 5; i++ {
		var b core.Batch
		for j := 0; j <= i%2; j++ {
			f := core.FilledSpan{Start: at(100 - 10*i - j),
				End: at(105 - 10*i - j), Backfill: i == 0}
			b.Filled = append(b.Filled, f)
			want = append(want, f)
		}
		h.write(&b)
	}
	h.check(&core.StoredState{Filled: want})
}
