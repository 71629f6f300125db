package badgerstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
)

// testLogger records log lines by level.
type testLogger struct {
	mu    sync.Mutex
	lines map[string][]string
}

func newTestLogger() *testLogger {
	return &testLogger{lines: make(map[string][]string)}
}

func (l *testLogger) add(level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines[level] = append(l.lines[level], fmt.Sprintf(format, args...))
}

func (l *testLogger) Debugf(f string, a ...any) { l.add("debug", f, a...) }
func (l *testLogger) Infof(f string, a ...any)  { l.add("info", f, a...) }
func (l *testLogger) Warnf(f string, a ...any)  { l.add("warn", f, a...) }
func (l *testLogger) Errorf(f string, a ...any) { l.add("error", f, a...) }

func (l *testLogger) get(level string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines[level]...)
}

func openStore(t *testing.T, dir string, opts badgerstore.Options) *badgerstore.Store {
	t.Helper()
	s, err := badgerstore.Open(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func testPeer(n int) core.PeerID {
	var p core.PeerID
	p[0] = 0x03
	p[1] = byte(n >> 8)
	p[2] = byte(n)
	return p
}

var t0 = time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)

// eventAt is the deterministic seq-th event of peer p's test log.
func eventAt(p int, seq uint64) core.LogEvent {
	return core.LogEvent{
		Time: t0.Add(time.Duration(seq)*time.Second +
			time.Duration(p)*time.Millisecond +
			time.Duration(seq%997)),
		State: core.State(seq % 2),
	}
}

// eventBatch writes the next event of peer p (whose log holds seq events)
// with the peer's record, as the monitor does.
func eventBatch(b *core.Batch, p int, seq uint64) {
	ev := eventAt(p, seq)
	b.Reset()
	b.Peers = append(b.Peers, core.PeerRecord{
		Peer:       testPeer(p),
		Online:     ev.State == core.StateOnline,
		StateSince: ev.Time,
		FlapCount:  int(seq),
		LastEvent:  ev.Time,
	})
	b.Logs = append(b.Logs, core.PeerLog{
		Peer:   testPeer(p),
		Seq:    seq,
		Events: []core.LogEvent{ev},
	})
}

// requireLogs checks that peer p's loaded log is the test log, at least
// min events long.
func requireLogs(t *testing.T, st *core.StoredState, min map[int]uint64) {
	t.Helper()
	got := make(map[core.PeerID][]core.LogEvent)
	for _, l := range st.Logs {
		require.Zero(t, l.Seq)
		got[l.Peer] = l.Events
	}
	for p, n := range min {
		evs := got[testPeer(p)]
		require.GreaterOrEqual(t, uint64(len(evs)), n, "peer %d", p)
		for seq, ev := range evs {
			want := eventAt(p, uint64(seq))
			if !ev.Time.Equal(want.Time) || ev.State != want.State {
				require.Failf(t, "log differs", "peer %d "+
					"seq %d: got %v %v, want %v %v", p,
					seq, ev.Time, ev.State, want.Time,
					want.State)
			}
		}
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	tests := []struct {
		name string
		sync bool
	}{
		{name: "synced", sync: true},
		{name: "not synced"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			s, err := badgerstore.Open(dir, badgerstore.Options{})
			require.NoError(t, err)

			const peers, batches = 7, 5000
			var b core.Batch
			want := make(map[int]uint64)
			for i := 0; i < batches; i++ {
				p := i % peers
				eventBatch(&b, p, want[p])
				require.NoError(t, s.Write(ctx, &b))
				want[p]++
			}
			meta := core.Meta{MonitoringSince: t0, Heartbeat: t0}
			require.NoError(t, s.Write(ctx,
				&core.Batch{Meta: &meta}))
			if tc.sync {
				require.NoError(t, s.Sync())
			}
			require.NoError(t, s.Close())

			s = openStore(t, dir, badgerstore.Options{})
			st, err := s.Load(ctx)
			require.NoError(t, err)
			require.True(t, st.Meta.Heartbeat.Equal(t0))
			require.Len(t, st.Peers, peers)
			require.Len(t, st.Logs, peers)
			requireLogs(t, st, want)
			for p, n := range want {
				require.Len(t, st.Logs[p].Events, int(n))
			}

			// The logs go on where they ended.
			eventBatch(&b, 0, want[0])
			require.NoError(t, s.Write(ctx, &b))
			eventBatch(&b, 0, want[0])
			require.ErrorIs(t, s.Write(ctx, &b), storage.ErrLogSeq)
		})
	}
}

func TestLockedByThisProcess(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir, badgerstore.Options{})

	_, err := badgerstore.Open(dir, badgerstore.Options{})
	require.ErrorIs(t, err, badgerstore.ErrLocked)
	abs, _ := filepath.Abs(dir)
	require.Contains(t, err.Error(), fmt.Sprintf("open store %q", abs))
	require.Contains(t, err.Error(), fmt.Sprintf("pid %d", os.Getpid()))

	// A relative path is named as the absolute directory.
	wd, err := os.Getwd()
	require.NoError(t, err)
	rel, err := filepath.Rel(wd, dir)
	require.NoError(t, err)
	_, err = badgerstore.Open(rel, badgerstore.Options{})
	require.ErrorIs(t, err, badgerstore.ErrLocked)
	require.Contains(t, err.Error(), abs)
}

func TestLockReleasedByClose(t *testing.T) {
	dir := t.TempDir()
	s, err := badgerstore.Open(dir, badgerstore.Options{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	openStore(t, dir, badgerstore.Options{})
}

func TestLoggerGetsBadgerLines(t *testing.T) {
	// Nothing may reach stdout (a CLN plugin's protocol pipe) or
	// stderr.
	stdout, stderr := os.Stdout, os.Stderr
	r, w, err := os.Pipe()
	require.NoError(t, err)
	os.Stdout, os.Stderr = w, w
	restore := func() { os.Stdout, os.Stderr = stdout, stderr }
	defer restore()

	log := newTestLogger()
	tick := ticker.NewForce(time.Hour)
	dir := t.TempDir()
	s, err := badgerstore.Open(dir, badgerstore.Options{Logger: log,
		GCTicker: tick})
	require.NoError(t, err)
	var b core.Batch
	eventBatch(&b, 1, 0)
	require.NoError(t, s.Write(context.Background(), &b))
	tick.Force <- time.Now()
	tick.Force <- time.Now()
	require.NoError(t, s.Close())

	restore()
	require.NoError(t, w.Close())
	out := make([]byte, 1)
	n, _ := r.Read(out)
	require.Zero(t, n, "something was written to stdout or stderr")

	debug := log.get("debug")
	require.NotEmpty(t, debug)
	for _, line := range debug {
		require.True(t, strings.HasPrefix(line, "badger: "), line)
		require.False(t, strings.HasSuffix(line, "\n"), line)
	}
	// Value-log GC with nothing to rewrite is normal.
	require.Empty(t, log.get("warn"))
	require.Empty(t, log.get("error"))
}

func TestBatchTooLarge(t *testing.T) {
	s := openStore(t, t.TempDir(), badgerstore.Options{})
	b := &core.Batch{DeleteChannels: make([]core.ChannelPoint, 60_000)}
	err := s.Write(context.Background(), b)
	require.ErrorIs(t, err, badgerstore.ErrBatchTooLarge)
	require.Contains(t, err.Error(), "60002 records")

	// A million events are few records but too many bytes.
	evs := make([]core.LogEvent, 1_000_000)
	for i := range evs {
		evs[i] = eventAt(1, uint64(i))
	}
	b = &core.Batch{Logs: []core.PeerLog{{Peer: testPeer(1),
		Events: evs}}}
	err = s.Write(context.Background(), b)
	require.ErrorIs(t, err, badgerstore.ErrBatchTooLarge)
	require.Contains(t, err.Error(), "more than 4194304 bytes")

	// Nothing of either was written; a batch of the limit's size is.
	st, err := s.Load(context.Background())
	require.NoError(t, err)
	require.Empty(t, st.Logs)
	b.Logs[0].Events = evs[:200_000]
	require.NoError(t, s.Write(context.Background(), b))
	st, err = s.Load(context.Background())
	require.NoError(t, err)
	requireLogs(t, st, map[int]uint64{1: 200_000})
}
