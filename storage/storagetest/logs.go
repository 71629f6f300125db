package storagetest

import (
	"context"
	"testing"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage"
	"github.com/stretchr/testify/require"
)

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

	for _, tc := range badLogRuns(p) {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			requireLogRunRejected(t, h, tc.logs, ch.Point, want)
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

// logRun is a batch's logs under a name.
type logRun struct {
	name string
	logs []core.PeerLog
}

// badLogRuns are log runs that do not continue peer p's log of 5 events
// (seq 0 to 4).
func badLogRuns(p core.PeerID) []logRun {
	return []logRun{
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
}

// requireLogRunRejected writes logs in a batch that changes everything
// else too and requires that the batch fails with storage.ErrLogSeq and
// leaves the store holding want.
func requireLogRunRejected(t *testing.T, h *harness, logs []core.PeerLog,
	point core.ChannelPoint, want *core.StoredState) {
	other := core.Meta{MonitoringSince: at(50),
		Heartbeat: at(60)}
	err := h.s.Write(context.Background(), &core.Batch{
		Meta:  &other,
		Gaps:  []core.Gap{{Start: at(70), End: at(80)}},
		Peers: []core.PeerRecord{fullPeer(3)},
		Logs:  logs,
		Channels: []core.ChannelRecord{{
			Point: chanPoint(3, 1),
			Peer:  peerID(3),
		}},
		DeleteChannels: []core.ChannelPoint{point},
	})
	require.Error(t, err)
	require.ErrorIs(t, err, storage.ErrLogSeq)
	require.Contains(t, err.Error(), "seq")
	h.check(want)
}
