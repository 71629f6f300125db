package postgres_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage"
	"github.com/chanfitness/chanfitness/storage/postgres"
	"github.com/chanfitness/chanfitness/storage/postgres/pgtest"
	"github.com/chanfitness/chanfitness/storage/storagetest"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

// node returns a node public key for tests.
func node(n byte) core.PeerID {
	var p core.PeerID
	p[0] = 0x03
	p[1] = 0xee
	p[32] = n
	return p
}

// open opens a store of node n on dsn, closed when the test ends.
func open(t *testing.T, dsn string, n byte) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), postgres.Options{
		DSN: dsn, Node: node(n)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	srv := pgtest.Shared(t)
	dsns := map[core.Store]string{}
	storagetest.Run(t, func(t *testing.T) core.Store {
		dsn := srv.NewDatabase(t)
		s, err := postgres.Open(context.Background(),
			postgres.Options{DSN: dsn, Node: node(1)})
		require.NoError(t, err)
		dsns[s] = dsn
		return s
	}, func(t *testing.T, s core.Store) core.Store {
		require.NoError(t, s.Close())
		dsn := dsns[s]
		s2, err := postgres.Open(context.Background(),
			postgres.Options{DSN: dsn, Node: node(1)})
		require.NoError(t, err)
		dsns[s2] = dsn
		return s2
	})
}

// event is a one-event batch of peer p at second sec, the seq-th event of
// its log.
func event(p core.PeerID, seq uint64, sec int) *core.Batch {
	t := time.Date(2026, 1, 1, 0, 0, sec, 0, time.UTC)
	ev := core.LogEvent{Time: t, State: core.State(seq % 2)}
	return &core.Batch{
		Peers: []core.PeerRecord{{Peer: p, LastEvent: t, Staged: &ev}},
		Logs: []core.PeerLog{{Peer: p, Seq: seq,
			Events: []core.LogEvent{ev}}},
	}
}

func TestTwoNodesOneDatabase(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	a, b := open(t, dsn, 1), open(t, dsn, 2)
	ctx := context.Background()
	p := node(9) // a peer both nodes have

	// Each node's log of the same peer is its own, numbered from 0.
	require.NoError(t, a.Write(ctx, event(p, 0, 1)))
	require.NoError(t, b.Write(ctx, event(p, 0, 2)))
	require.NoError(t, b.Write(ctx, event(p, 1, 3)))
	require.NoError(t, a.Write(ctx, event(p, 1, 4)))
	ma := core.Meta{MonitoringSince: time.Unix(100, 0)}
	require.NoError(t, a.Write(ctx, &core.Batch{Meta: &ma}))

	sa, err := a.Load(ctx)
	require.NoError(t, err)
	sb, err := b.Load(ctx)
	require.NoError(t, err)
	require.Len(t, sa.Logs, 1)
	require.Len(t, sb.Logs, 1)
	require.Equal(t, 1, sa.Logs[0].Events[0].Time.Second())
	require.Equal(t, 4, sa.Logs[0].Events[1].Time.Second())
	require.Equal(t, 2, sb.Logs[0].Events[0].Time.Second())
	require.True(t, sa.Meta.MonitoringSince.Equal(ma.MonitoringSince))
	require.True(t, sb.Meta.MonitoringSince.IsZero())
}

func TestSecondMonitorOfANodeRefused(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	first := open(t, dsn, 1)
	_, err := postgres.Open(context.Background(),
		postgres.Options{DSN: dsn, Node: node(1)})
	require.ErrorIs(t, err, postgres.ErrLocked)
	require.ErrorContains(t, err, node(1).String())
	require.ErrorContains(t, err, "one monitor per node")

	// Once the first is closed, the node's store opens.
	require.NoError(t, first.Close())
	open(t, dsn, 1)
}

func TestPasswordNeverShown(t *testing.T) {
	srv := pgtest.Shared(t)
	dsn := srv.NewDatabase(t)
	logs := &recLogger{}
	tests := []struct {
		name string
		dsn  string
	}{
		{"wrong database", strings.Replace(dsn, "/t", "/nosuch", 1)},
		{"wrong password", strings.Replace(dsn, pgtest.Password,
			pgtest.Password+"x", 1)},
		{"nothing listening", strings.Replace(dsn,
			fmt.Sprint(srv.Port), fmt.Sprint(srv.Port+1), 1)},
		{"bad syntax", dsn + "&connect_timeout=abc"},
		{"key value pairs", "host=127.0.0.1 port=1 user=x " +
			"password=" + pgtest.Password + " dbname=y"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := postgres.Open(context.Background(),
				postgres.Options{DSN: tc.dsn, Node: node(1),
					Logger: logs, Timeout: 5 * time.Second})
			require.Error(t, err)
			require.NotContains(t, err.Error(), pgtest.Password)
			require.NotContains(t, fmt.Sprintf("%+v", err),
				pgtest.Password)
		})
	}

	// A store that loses its server logs and returns errors without it.
	s, err := postgres.Open(context.Background(), postgres.Options{
		DSN: dsn, Node: node(1), Logger: logs})
	require.NoError(t, err)
	defer s.Close()
	require.NotContains(t, s.String(), pgtest.Password)
	for _, l := range logs.all() {
		require.NotContains(t, l, pgtest.Password)
	}
}

// recLogger records every log line.
type recLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *recLogger) add(f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(f, a...))
}

func (l *recLogger) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func (l *recLogger) Debugf(f string, a ...any) { l.add(f, a...) }
func (l *recLogger) Infof(f string, a ...any)  { l.add(f, a...) }
func (l *recLogger) Warnf(f string, a ...any)  { l.add(f, a...) }
func (l *recLogger) Errorf(f string, a ...any) { l.add(f, a...) }

// TestDamagedLogRefused: a log whose chunk rows were removed or whose
// packed events were damaged behind the store's back is refused loudly,
// naming the table and the peer, never loaded short.
func TestDamagedLogRefused(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, postgres.Options{DSN: dsn, Node: node(1)})
	require.NoError(t, err)
	p := node(9)
	for i := 0; i < 40; i++ {
		require.NoError(t, s.Write(ctx, event(p, uint64(i), i)))
	}
	st, err := s.Load(ctx)
	require.NoError(t, err)
	require.Len(t, st.Logs[0].Events, 40)
	require.NoError(t, s.Close())

	pgtest.Exec(t, dsn, `UPDATE chanfitness_logs
		SET data = substring(data from 2) WHERE seq = 32`)
	s, err = postgres.Open(ctx, postgres.Options{DSN: dsn, Node: node(1)})
	require.NoError(t, err)
	_, err = s.Load(ctx)
	require.ErrorIs(t, err, storage.ErrCorrupt)
	require.ErrorContains(t, err, "chanfitness_logs")
	require.ErrorContains(t, err, p.String())
	require.NoError(t, s.Close())

	// The merged first 32 events are one row; without it the log
	// would start at event 32.
	pgtest.Exec(t, dsn, `DELETE FROM chanfitness_logs WHERE seq = 0`)
	_, err = postgres.Open(ctx, postgres.Options{DSN: dsn, Node: node(1)})
	require.ErrorIs(t, err, storage.ErrCorrupt)
	require.ErrorContains(t, err, "restore the database")
}

// TestHeldConnection: a server that accepts the connection and never
// answers (a wrong port, a stuck proxy) fails Open with an error naming
// the database, bounded by the timeout, rather than hanging the front
// end's start.
func TestHeldConnection(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	dsn := "postgres://u:" + pgtest.Password + "@" + l.Addr().String() +
		"/db?sslmode=disable"
	_, err = postgres.Open(context.Background(), postgres.Options{
		DSN: dsn, Node: node(1), Timeout: time.Second})
	require.ErrorIs(t, err, postgres.ErrUnreachable)
	require.ErrorContains(t, err, l.Addr().String())
	require.NotContains(t, err.Error(), pgtest.Password)
}

// TestNewerSchemaRefused: a database migrated by a newer chanfitness is
// refused, saying so, and left as it is.
func TestNewerSchemaRefused(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	s := open(t, dsn, 1)
	require.NoError(t, s.Close())
	pgtest.Exec(t, dsn, `UPDATE chanfitness_schema SET version = 99`)
	_, err := postgres.Open(context.Background(), postgres.Options{
		DSN: dsn, Node: node(1)})
	require.ErrorIs(t, err, postgres.ErrSchema)
	require.ErrorContains(t, err, "version 99")
}

// TestAppendToDamagedChunk: a write of one event appends it to the
// peer's newest chunk; when that chunk was removed or changed behind the
// store's back, the write fails naming the table and the peer, and none
// of the batch is written (its peer record neither), rather than the
// event being lost.
func TestAppendToDamagedChunk(t *testing.T) {
	ctx := context.Background()
	for _, damage := range []string{
		`DELETE FROM chanfitness_logs WHERE seq = 32`,
		`UPDATE chanfitness_logs SET n = n - 1,
			data = substring(data from 15) WHERE seq = 32`,
	} {
		dsn := pgtest.Shared(t).NewDatabase(t)
		s := open(t, dsn, 1)
		p := node(9)
		for i := 0; i < 34; i++ {
			require.NoError(t, s.Write(ctx, event(p, uint64(i), i)))
		}
		pgtest.Exec(t, dsn, damage)
		err := s.Write(ctx, event(p, 34, 34))
		require.Error(t, err, damage)
		require.ErrorContains(t, err, "chanfitness_logs")
		require.ErrorContains(t, err, hex.EncodeToString(p[:]))
		st, err := s.Load(ctx)
		require.NoError(t, err)
		require.Len(t, st.Peers, 1)
		require.Equal(t, 33, st.Peers[0].LastEvent.Second(), damage)
	}
}
