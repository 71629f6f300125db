package lndsource

import (
	"context"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/plugin/lnd/lndtest"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/stretchr/testify/require"
)

// historySignal passes a source's calls on to a monitor and reports each
// AddSamples once the monitor returned. The source adds a snapshot's ping
// samples after the monitor synced the snapshot, so the monitor holds both
// from then on; a signal at Sync would come before the samples are kept.
type historySignal struct {
	core.HistorySink
	added chan error
}

func (s historySignal) AddSamples(ctx context.Context,
	samples []core.PeerSample) error {

	err := s.HistorySink.AddSamples(ctx, samples)
	s.added <- err
	return err
}

type historySignalSource struct {
	src   *Source
	added chan error
}

func (s historySignalSource) Run(ctx context.Context, sink core.Sink) error {
	return s.src.Run(ctx, historySignal{
		HistorySink: sink.(core.HistorySink), added: s.added})
}

// TestSourcePingTimes: the ping time lnd gives for each connected peer
// is kept at every snapshot, so the report has the same ping figures on
// lnd as on Core Lightning; a peer lnd has not pinged yet (0) has none.
func TestSourcePingTimes(t *testing.T) {
	c := newTestCtx(t)
	p1, p2 := lndtest.PeerKey(1), lndtest.PeerKey(2)
	c.srv.OpenChannel(lndtest.ChanPoint(1), p1, scid(101, 1, 0))
	c.srv.OpenChannel(lndtest.ChanPoint(2), p2, scid(102, 1, 0))
	c.srv.SetOnline(p1, true)
	c.srv.SetOnline(p2, true)
	c.srv.SetPingTime(p1, 1500)

	added := make(chan error, 10)
	mon := coretest.StartMonitor(t, core.Config{
		Store:  memory.New(),
		Clock:  c.clock,
		Source: historySignalSource{src: c.newSource(), added: added},
		Logger: c.log,
	})
	// Each snapshot has p1's ping, so each sync ends with AddSamples.
	waitAdded := func() {
		t.Helper()
		select {
		case err := <-added:
			require.NoError(t, err)
		case <-time.After(lndtest.WaitTimeout):
			require.FailNow(t, "no samples added")
		}
	}
	waitAdded()
	c.srv.WaitSubscribed(t, 1)
	c.clock.SetTime(t0.Add(2 * time.Minute))
	c.srv.SetPingTime(p1, 2500)
	c.tick()
	waitAdded()

	r, err := mon.Report(context.Background(), core.ReportQuery{})
	require.NoError(t, err)
	w := peerWindow(t, r, p1)
	require.Equal(t, 2, w.Pings)
	require.Equal(t, 1.5, *w.PingMedianMs)
	require.Equal(t, 2.5, *w.PingP90Ms)
	require.Zero(t, w.ConnectFailures)
	w = peerWindow(t, r, p2)
	require.Zero(t, w.Pings)
	require.Nil(t, w.PingMedianMs)
}

func peerWindow(t *testing.T, r core.Report, id string) core.PeerWindow {
	t.Helper()
	p, ok := coretest.Peer(r, id)
	require.True(t, ok)
	return p.Windows["1d"]
}
