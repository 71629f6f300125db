package storagetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage"
	"github.com/stretchr/testify/require"
)

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
