package storagetest

import (
	"context"
	"errors"
	"testing"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage"
	"github.com/stretchr/testify/require"
)

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
