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
	"context"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
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
		{"SampleCutBackwards", testSampleCutBackwards},
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
