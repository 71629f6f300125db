package core_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

// gateStore wraps a store: Write can be made to fail or to wait at a
// gate, and every Sync is signalled.
type gateStore struct {
	core.Store

	mu     sync.Mutex
	fail   error
	gate   chan struct{} // when not nil, Write waits for it to close
	inside chan struct{} // a Write waiting at the gate sends here
	writes int           // successful writes
	synced chan struct{}
}

func newGateStore() *gateStore {
	return &gateStore{Store: memory.New(), synced: make(chan struct{}, 16),
		inside: make(chan struct{}, 16)}
}

func (g *gateStore) Write(ctx context.Context, b *core.Batch) error {
	g.mu.Lock()
	gate, fail := g.gate, g.fail
	g.mu.Unlock()
	if gate != nil {
		g.inside <- struct{}{}
		<-gate
	}
	if fail != nil {
		return fail
	}
	g.mu.Lock()
	g.writes++
	g.mu.Unlock()
	return g.Store.Write(ctx, b)
}

func (g *gateStore) Sync() error {
	err := g.Store.Sync()
	select {
	case g.synced <- struct{}{}:
	default:
	}
	return err
}

func (g *gateStore) setFail(err error) {
	g.mu.Lock()
	g.fail = err
	g.mu.Unlock()
}

func (g *gateStore) setGate(c chan struct{}) {
	g.mu.Lock()
	g.gate = c
	g.mu.Unlock()
}

func (g *gateStore) writeCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writes
}

func newGateCtx(t *testing.T) (*testCtx, *gateStore) {
	gs := newGateStore()
	tc := &testCtx{t: t, ctx: context.Background(),
		clock: clock.NewTestClock(t0), store: gs}
	tc.start()
	return tc, gs
}

// tick forces a sync tick and waits until it synced the store.
func (tc *testCtx) tick(gs *gateStore) {
	tc.t.Helper()
	for len(gs.synced) > 0 {
		<-gs.synced
	}
	tc.sync.Force <- time.Now()
	<-gs.synced
}

// TestQueryWhileWriteBlocked: while a write waits on the disk, queries
// answer; Apply returns once its batch is written.
func TestQueryWhileWriteBlocked(t *testing.T) {
	tc, gs := newGateCtx(t)
	p, a := peerN(1), chanN(1)
	tc.online(p)
	tc.open(p, a)
	tc.advance(time.Hour)

	gate := make(chan struct{})
	gs.setGate(gate)
	applied := make(chan error, 1)
	go func() {
		applied <- tc.m.Apply(tc.ctx, core.Event{
			Type: core.PeerOffline, Peer: p})
	}()
	<-gs.inside

	// The event is in memory; the write has not returned.
	require.Equal(t, 2, tc.flaps(p))
	rep, err := tc.m.Report(tc.ctx, core.ReportQuery{})
	require.NoError(t, err)
	require.Len(t, rep.Channels, 1)
	require.Equal(t, 1, rep.Store.PendingBatches)
	require.True(t, rep.Store.Writing)
	_, err = tc.m.ChannelInfo(tc.ctx, a)
	require.NoError(t, err)
	ok, _ := tc.m.Connected()
	require.True(t, ok)
	select {
	case err := <-applied:
		t.Fatalf("Apply returned before its write: %v", err)
	default:
	}

	gs.setGate(nil)
	close(gate)
	require.NoError(t, <-applied)
	require.Equal(t, 0, tc.m.StoreStatus().PendingBatches)
}

// TestApplyGivesUpWaitingWithCtx: a caller whose ctx ends while its
// batch waits for the disk gets ErrNotWritten; the event is kept and
// written later.
func TestApplyGivesUpWaitingWithCtx(t *testing.T) {
	tc, gs := newGateCtx(t)
	p, a := peerN(1), chanN(1)
	tc.online(p)
	tc.open(p, a)

	gate := make(chan struct{})
	gs.setGate(gate)
	first := make(chan error, 1)
	go func() {
		first <- tc.m.Apply(tc.ctx, core.Event{
			Type: core.PeerOffline, Peer: p})
	}()
	<-gs.inside

	ctx, cancel := context.WithCancel(tc.ctx)
	cancel()
	err := tc.m.Apply(ctx, core.Event{Type: core.PeerOnline, Peer: p})
	require.ErrorIs(t, err, core.ErrNotWritten)
	require.ErrorIs(t, err, context.Canceled)

	gs.setGate(nil)
	close(gate)
	require.NoError(t, <-first)
	tc.tick(gs)
	require.Equal(t, 0, tc.m.StoreStatus().PendingBatches)
	st, err := gs.Store.Load(tc.ctx)
	require.NoError(t, err)
	require.Equal(t, 3, st.Peers[0].FlapCount)
}

// TestWriteFailureKeepsEvents: while the store fails, events stay in
// memory and their batches queue; the report says so; the next sync tick
// after the store recovers writes them, in order.
func TestWriteFailureKeepsEvents(t *testing.T) {
	tc, gs := newGateCtx(t)
	p, a := peerN(1), chanN(1)
	tc.online(p)
	tc.open(p, a)
	tc.advance(time.Hour)

	full := errors.New("no space left on device")
	gs.setFail(full)
	err := tc.m.Apply(tc.ctx, core.Event{Type: core.PeerOffline, Peer: p})
	require.ErrorIs(t, err, core.ErrNotWritten)
	require.ErrorContains(t, err, "no space left")
	require.ErrorContains(t, err, p.String())
	// Far enough apart that every transition is committed.
	for i := 0; i < 4; i++ {
		tc.advance(time.Hour)
		typ := core.PeerOnline
		if i%2 == 1 {
			typ = core.PeerOffline
		}
		err = tc.m.Apply(tc.ctx, core.Event{Type: typ, Peer: p})
		require.ErrorIs(t, err, core.ErrNotWritten)
	}
	tc.advance(time.Hour)
	err = tc.m.Apply(tc.ctx, core.Event{Type: core.ChannelClosed,
		Peer: p, Channel: a})
	require.ErrorIs(t, err, core.ErrNotWritten)
	require.ErrorContains(t, err, a.String())

	// Memory has every event.
	require.Equal(t, 6, tc.flaps(p))
	info := tc.info(a)
	require.False(t, info.Open)
	require.Equal(t, 6*time.Hour, info.Lifetime)
	require.Equal(t, 3*time.Hour, info.Uptime)
	st := tc.m.StoreStatus()
	require.False(t, st.Writing)
	require.ErrorIs(t, st.Err, full)
	require.Equal(t, 6, st.PendingBatches)
	rep, err := tc.m.Report(tc.ctx, core.ReportQuery{})
	require.NoError(t, err)
	require.False(t, rep.Store.Writing)
	require.NotNil(t, rep.Store.Error)
	require.Contains(t, *rep.Store.Error, "no space left")
	require.Equal(t, 6, rep.Store.PendingBatches)

	// A tick while the store still fails keeps everything queued.
	tc.tick(gs)
	require.Equal(t, 6, tc.m.StoreStatus().PendingBatches)

	gs.setFail(nil)
	tc.tick(gs)
	st = tc.m.StoreStatus()
	require.True(t, st.Writing)
	require.NoError(t, st.Err)
	require.Equal(t, 0, st.PendingBatches)

	// A restart reads back what memory had.
	tc.restart(0)
	require.Equal(t, 6, tc.flaps(p))
	info = tc.info(a)
	require.False(t, info.Open)
	require.Equal(t, 6*time.Hour, info.Lifetime)
	require.Equal(t, 3*time.Hour, info.Uptime)
}

// TestStopWritesQueued: Stop writes batches a failure left queued once
// the store accepts them, and reports an error when it still does not.
func TestStopWritesQueued(t *testing.T) {
	tc, gs := newGateCtx(t)
	p, a := peerN(1), chanN(1)
	tc.online(p)
	gs.setFail(errors.New("disk full"))
	err := tc.m.Apply(tc.ctx, core.Event{Type: core.ChannelOpened,
		Peer: p, Channel: a})
	require.ErrorIs(t, err, core.ErrNotWritten)
	err = tc.m.Stop()
	require.ErrorIs(t, err, core.ErrNotWritten)

	gs.setFail(nil)
	tc.start()
	// Not written before the process ended: lost with it.
	_, err = tc.m.ChannelInfo(tc.ctx, a)
	require.ErrorIs(t, err, core.ErrChannelNotFound)

	// Stop after the store recovered writes what was queued.
	gs.setFail(errors.New("disk full"))
	err = tc.m.Apply(tc.ctx, core.Event{Type: core.ChannelOpened,
		Peer: p, Channel: a})
	require.ErrorIs(t, err, core.ErrNotWritten)
	gs.setFail(nil)
	tc.restart(0)
	require.True(t, tc.info(a).Open)
}

// TestSyncWritesOneBatch: everything one snapshot changes is one batch,
// so a failed write leaves none of it half applied in the store.
func TestSyncWritesOneBatch(t *testing.T) {
	gs := newGateStore()
	src := &manualSource{ready: make(chan core.Sink, 1)}
	tc := &testCtx{t: t, ctx: context.Background(),
		clock: clock.NewTestClock(t0), store: gs}
	tc.startWith(src)
	sink := <-src.ready
	snap := core.Snapshot{OnlinePeers: []core.PeerID{peerN(1)}}
	for i := 1; i <= 5; i++ {
		snap.Channels = append(snap.Channels, core.SnapshotChannel{
			Point: chanN(i), Peer: peerN(i)})
	}
	before := gs.writeCount()
	require.NoError(t, sink.Sync(tc.ctx, snap))
	require.Equal(t, before+1, gs.writeCount())

	// Two channels vanish, two appear, a peer goes offline: one batch,
	// and when it fails the store has none of it.
	tc.advance(time.Hour)
	snap.OnlinePeers = nil
	snap.Channels = append(snap.Channels[2:], core.SnapshotChannel{
		Point: chanN(6), Peer: peerN(6)}, core.SnapshotChannel{
		Point: chanN(7), Peer: peerN(1)})
	gs.setFail(errors.New("disk full"))
	err := sink.Sync(tc.ctx, snap)
	require.ErrorIs(t, err, core.ErrNotWritten)
	st, err := gs.Store.Load(tc.ctx)
	require.NoError(t, err)
	require.Len(t, st.Channels, 5)
	for _, c := range st.Channels {
		require.True(t, c.ClosedAt.IsZero())
	}

	gs.setFail(nil)
	before = gs.writeCount()
	tc.tick(gs)
	// The snapshot's batch; no heartbeat was queued while writes
	// failed.
	require.Equal(t, before+1, gs.writeCount())
	st, err = gs.Store.Load(tc.ctx)
	require.NoError(t, err)
	require.Len(t, st.Channels, 7)
}

// TestQueriesHonourCtx: a query whose ctx is done returns its error.
func TestQueriesHonourCtx(t *testing.T) {
	tc := newTestCtx(t)
	p, a := peerN(1), chanN(1)
	tc.online(p)
	tc.open(p, a)
	ctx, cancel := context.WithCancel(tc.ctx)
	cancel()
	_, err := tc.m.Report(ctx, core.ReportQuery{})
	require.ErrorIs(t, err, context.Canceled)
	_, err = tc.m.ChannelInfo(ctx, a)
	require.ErrorIs(t, err, context.Canceled)
	_, err = tc.m.PeerWindow(ctx, p, t0, t0.Add(time.Hour))
	require.ErrorIs(t, err, context.Canceled)
	_, _, err = tc.m.FlapCount(ctx, p)
	require.ErrorIs(t, err, context.Canceled)
	_, err = tc.m.OpenChannels(ctx, nil)
	require.ErrorIs(t, err, context.Canceled)
}

// TestCrashGapStartsAtNewestWrite: the heartbeat is written once per sync
// interval, but the unmonitored time after a crash starts at the newest
// event written while connected, not at the last tick.
func TestCrashGapStartsAtNewestWrite(t *testing.T) {
	tc := newTestCtx(t)
	p, a := peerN(1), chanN(1)
	tc.advance(10 * time.Second)
	tc.online(p)
	tc.open(p, a)
	tc.advance(10 * time.Second)
	tc.close(p, a)
	// Tracked, without channels: a flap, nothing logged.
	tc.advance(30 * time.Second)
	tc.offline(p)

	// Crash: no Stop, no tick since the start; a new process starts on
	// the same store 70 s later.
	tc.advance(70 * time.Second)
	tc.start()
	rep, err := tc.m.Report(tc.ctx, core.ReportQuery{})
	require.NoError(t, err)
	require.EqualValues(t, 70, rep.UnmonitoredSeconds)
}

// TestWriteQueueBound: while the store fails, no more than
// MaxPendingBatches batches wait; past that the queue is full, the report
// and the calls say so, and changes are kept in memory only. Once the
// store writes again everything is written from memory: a restart reads
// back what memory had, channels opened and closed meanwhile included.
func TestWriteQueueBound(t *testing.T) {
	gs := newGateStore()
	tc := &testCtx{t: t, ctx: context.Background(),
		clock: clock.NewTestClock(t0), store: gs, maxPending: 5}
	tc.start()
	for i := 1; i <= 3; i++ {
		tc.online(peerN(i))
		tc.open(peerN(i), chanN(i))
	}
	tc.advance(time.Hour)

	gs.setFail(errors.New("no space left on device"))
	var err error
	for i := 0; i < 40; i++ {
		tc.advance(time.Hour)
		typ := core.PeerOffline
		if (i/3)%2 == 1 {
			typ = core.PeerOnline
		}
		err = tc.m.Apply(tc.ctx, core.Event{Type: typ,
			Peer: peerN(1 + i%3)})
		require.ErrorIs(t, err, core.ErrNotWritten)
	}
	require.ErrorContains(t, err, "queue is full")
	require.ErrorContains(t, err, "no space left")
	err = tc.m.Apply(tc.ctx, core.Event{Type: core.ChannelOpened,
		Peer: peerN(4), Channel: chanN(4)})
	require.ErrorIs(t, err, core.ErrNotWritten)
	tc.advance(time.Hour)
	err = tc.m.Apply(tc.ctx, core.Event{Type: core.ChannelClosed,
		Peer: peerN(1), Channel: chanN(1)})
	require.ErrorIs(t, err, core.ErrNotWritten)

	st := tc.m.StoreStatus()
	require.False(t, st.Writing)
	require.True(t, st.QueueFull)
	require.LessOrEqual(t, st.PendingBatches, 5)
	rep, err := tc.m.Report(tc.ctx, core.ReportQuery{})
	require.NoError(t, err)
	require.True(t, rep.Store.QueueFull)
	require.LessOrEqual(t, rep.Store.PendingBatches, 5)

	// A tick while the store still fails changes nothing.
	tc.tick(gs)
	require.True(t, tc.m.StoreStatus().QueueFull)
	require.LessOrEqual(t, tc.m.StoreStatus().PendingBatches, 5)

	want := map[int]int{}
	infos := map[int]core.ChannelInfo{}
	for i := 1; i <= 4; i++ {
		want[i] = tc.flaps(peerN(i))
		infos[i] = tc.info(chanN(i))
	}
	require.False(t, infos[1].Open)
	require.True(t, infos[4].Open)

	gs.setFail(nil)
	tc.tick(gs)
	st = tc.m.StoreStatus()
	require.True(t, st.Writing)
	require.False(t, st.QueueFull)
	require.Zero(t, st.PendingBatches)

	tc.restart(0)
	for i := 1; i <= 4; i++ {
		require.Equal(t, want[i], tc.flaps(peerN(i)), "peer %d", i)
		require.Equal(t, infos[i], tc.info(chanN(i)), "channel %d", i)
	}
}

// TestWriteQueueBoundStop: a Stop after the store recovered writes what
// the full queue kept in memory, without a sync tick first.
func TestWriteQueueBoundStop(t *testing.T) {
	gs := newGateStore()
	tc := &testCtx{t: t, ctx: context.Background(),
		clock: clock.NewTestClock(t0), store: gs, maxPending: 2}
	tc.start()
	p, a := peerN(1), chanN(1)
	tc.online(p)
	tc.open(p, a)

	gs.setFail(errors.New("no space left on device"))
	for i := 0; i < 10; i++ {
		tc.advance(time.Hour)
		typ := core.PeerOffline
		if i%2 == 1 {
			typ = core.PeerOnline
		}
		err := tc.m.Apply(tc.ctx, core.Event{Type: typ, Peer: p})
		require.ErrorIs(t, err, core.ErrNotWritten)
	}
	require.True(t, tc.m.StoreStatus().QueueFull)
	flaps, info := tc.flaps(p), tc.info(a)

	gs.setFail(nil)
	tc.restart(0)
	require.Equal(t, flaps, tc.flaps(p))
	require.Equal(t, info, tc.info(a))
}
