package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/internal/testproc"
	"github.com/chanfitness/chanfitness/storage/postgres"
	"github.com/chanfitness/chanfitness/storage/postgres/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
)

// TestWriteInDoubt: a write whose connection breaks right after its
// commit is reported failed; written again (as the monitor does), it is
// recognized and not applied twice. A write that broke before its commit
// is applied by the next try.
func TestWriteInDoubt(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	s := open(t, dsn, 1)
	ctx := context.Background()
	p := node(7)
	require.NoError(t, s.Write(ctx, event(p, 0, 1)))

	// The commit happens, then the connection breaks.
	s.SetAfterCommit(func(c *pgx.Conn) error {
		_ = c.Close(ctx)
		return errors.New("connection reset")
	})
	b := event(p, 1, 2)
	require.Error(t, s.Write(ctx, b))
	s.SetAfterCommit(nil)
	require.NoError(t, s.Write(ctx, b))
	require.NoError(t, s.Write(ctx, event(p, 2, 3)))

	// The connection breaks before anything is sent.
	require.NoError(t, s.Sync())
	pgtest.Exec(t, dsn, `SELECT pg_terminate_backend(pid) FROM
		pg_stat_activity WHERE application_name = 'chanfitness'`)
	b = event(p, 3, 4)
	err := s.Write(ctx, b)
	if err != nil {
		require.NoError(t, s.Write(ctx, b))
	}

	st, err := s.Load(ctx)
	require.NoError(t, err)
	require.Len(t, st.Logs, 1)
	require.Len(t, st.Logs[0].Events, 4)
	for i, ev := range st.Logs[0].Events {
		require.Equal(t, i+1, ev.Time.Second())
	}
}

var outageT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestServerRestartMidIngest runs a monitor on the store while the
// server stops and starts again: events applied while it is down are
// answered from memory, the store reports it is not writing, the queue
// of kept batches stops at its bound (the later changes are held in the
// monitor's state), and everything is written in order once the server
// is back; a new store loads every event.
func TestServerRestartMidIngest(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.NewDatabase(t)
	st, err := postgres.Open(context.Background(), postgres.Options{
		DSN: dsn, Node: node(1), Timeout: 5 * time.Second})
	require.NoError(t, err)
	defer st.Close()

	clk := clock.NewTestClock(outageT0)
	sync := ticker.NewForce(time.Minute)
	const bound = 20
	m := coretest.StartMonitor(t, core.Config{Store: st, Clock: clk,
		SyncTicker: sync, MaxPendingBatches: bound})
	ctx := context.Background()
	p := node(50)
	var cp core.ChannelPoint
	cp.Txid[0] = 0xaa
	require.NoError(t, m.Apply(ctx, core.Event{Type: core.ChannelOpened,
		Peer: p, Channel: cp}))

	now := outageT0
	applied := 0
	apply := func() error {
		now = now.Add(time.Hour + time.Second)
		clk.SetTime(now)
		typ := core.PeerOffline
		if applied%2 == 1 {
			typ = core.PeerOnline
		}
		applied++
		return m.Apply(ctx, core.Event{Type: typ, Peer: p, Time: now})
	}
	for i := 0; i < 50; i++ {
		require.NoError(t, apply())
	}

	srv.Stop(t)
	for i := 0; i < 50; i++ {
		err := apply()
		if err != nil {
			require.ErrorIs(t, err, core.ErrNotWritten)
		}
	}
	status := m.StoreStatus()
	require.False(t, status.Writing)
	require.Positive(t, status.PendingBatches)
	require.LessOrEqual(t, status.PendingBatches, bound)
	require.True(t, status.QueueFull)
	require.NotContains(t, status.Err.Error(), pgtest.Password)

	// Reads come from memory meanwhile.
	rep, err := m.Report(ctx, core.ReportQuery{})
	require.NoError(t, err)
	peer, ok := coretest.Peer(rep, p.String())
	require.True(t, ok)
	require.GreaterOrEqual(t, peer.FlapCount, applied)
	flaps := peer.FlapCount

	srv.Restart(t)
	sync.Force <- now
	testproc.WaitFor(t, "the kept batches to be written", time.Minute,
		func() (bool, error) {
			s := m.StoreStatus()
			return s.Writing && s.PendingBatches == 0 &&
				!s.QueueFull, s.Err
		})
	require.NoError(t, m.Stop())
	require.NoError(t, st.Close())

	again := open(t, dsn, 1)
	loaded, err := again.Load(ctx)
	require.NoError(t, err)
	require.Len(t, loaded.Logs, 1)
	evs := loaded.Logs[0].Events
	// Every transition applied, in order (plus the state the channel
	// opened with, and the stop's unknown marker).
	require.GreaterOrEqual(t, len(evs), applied)
	for i := 1; i < len(evs); i++ {
		require.False(t, evs[i].Time.Before(evs[i-1].Time))
	}
	var rec *core.PeerRecord
	for i := range loaded.Peers {
		if loaded.Peers[i].Peer == p {
			rec = &loaded.Peers[i]
		}
	}
	require.NotNil(t, rec)
	require.Equal(t, flaps, rec.FlapCount)
}

// TestWriteStoppedMidBatch: a write's statements go to the server in one
// round trip, as one transaction. Held mid-batch (its first statements
// ran, the append to the peer's chunk waits for a row lock another
// session holds), the write either runs into its timeout or has its
// session killed there; either way it fails, and its session no longer
// holds the node's lock (a timed-out write is canceled in the server),
// so the store connects again and writes while the row lock is still
// held. Killed, none of it is stored; timed out, its outcome is in doubt
// (the cancel may come after the commit). Either way, written again, it
// is stored once.
func TestWriteStoppedMidBatch(t *testing.T) {
	ctx := context.Background()
	for _, kill := range []bool{false, true} {
		dsn := pgtest.Shared(t).NewDatabase(t)
		s, err := postgres.Open(ctx, postgres.Options{DSN: dsn,
			Node: node(1), Timeout: 2 * time.Second})
		require.NoError(t, err)
		p := node(7)
		require.NoError(t, s.Write(ctx, event(p, 0, 1)))

		holder, err := pgx.Connect(ctx, dsn)
		require.NoError(t, err)
		tx, err := holder.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `SELECT 1 FROM chanfitness_logs
			FOR UPDATE`)
		require.NoError(t, err)

		b := event(p, 1, 2)
		done := make(chan error, 1)
		go func() { done <- s.Write(ctx, b) }()
		if kill {
			var pid int32
			testproc.WaitFor(t, "the write to wait for the lock",
				time.Minute, func() (bool, error) {
					err := holder.QueryRow(ctx, `SELECT
						coalesce(max(pid), 0) FROM
						pg_stat_activity WHERE
						application_name = 'chanfitness'
						AND wait_event_type = 'Lock'`).
						Scan(&pid)
					return pid != 0, err
				})
			_, err = holder.Exec(ctx,
				`SELECT pg_terminate_backend($1)`, pid)
			require.NoError(t, err)
		}
		require.Error(t, <-done, "killed %v", kill)
		// The row lock is still held.
		require.NoError(t, s.Write(ctx, event(node(8), 0, 5)),
			"killed %v", kill)
		require.NoError(t, tx.Rollback(ctx))
		require.NoError(t, holder.Close(ctx))
		st, err := s.Load(ctx)
		require.NoError(t, err)
		if kill {
			require.Len(t, st.Logs[0].Events, 1)
			require.Equal(t, 1, st.Peers[0].LastEvent.Second())
		}

		require.NoError(t, s.Write(ctx, b), "killed %v", kill)
		require.NoError(t, s.Write(ctx, event(p, 2, 3)))
		st, err = s.Load(ctx)
		require.NoError(t, err)
		require.Len(t, st.Logs, 2)
		require.Len(t, st.Logs[0].Events, 3, "killed %v", kill)
		for i, ev := range st.Logs[0].Events {
			require.Equal(t, i+1, ev.Time.Second())
		}
		require.Equal(t, 3, st.Peers[0].LastEvent.Second())
		require.Equal(t, 5, st.Peers[1].LastEvent.Second())
		require.NoError(t, s.Close())
	}
}
