package badgerstore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/stretchr/testify/require"
)

// The test binary runs itself as a helper process, selected by these
// environment variables.
const (
	helperEnv        = "CHANFITNESS_BADGER_HELPER"
	helperDirEnv     = "CHANFITNESS_BADGER_DIR"
	helperMinutesEnv = "CHANFITNESS_BADGER_MINUTES"

	// helperDeadline bounds every wait for a helper process.
	helperDeadline = 2 * time.Minute
)

// Shape of the writer's batches: batch i is the next event of peer
// i % crashPeers; every crashGapEvery-th also appends a gap and every
// crashChannelEvery-th writes a channel.
const (
	crashPeers        = 50
	crashGapEvery     = 100
	crashChannelEvery = 500
	crashSyncEvery    = 2000
)

// TestHelperProcess is no test of its own: TestCrash and
// TestLockedByOtherProcess run the test binary again with only it
// selected, to act as a writer or a lock holder.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process of TestCrash and " +
			"TestLockedByOtherProcess")
	}
	dir := os.Getenv(helperDirEnv)
	var err error
	switch mode {
	case "writer":
		err = runWriter(dir)
	case "holder":
		err = runHolder(dir)
	case "idle":
		minutes, _ := strconv.Atoi(os.Getenv(helperMinutesEnv))
		err = runIdle(dir, minutes)
	case "monitor":
		err = runMonitorWriter(dir)
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func gapAt(n int) core.Gap {
	start := t0.Add(time.Duration(n) * time.Hour)
	return core.Gap{Start: start, End: start.Add(time.Minute)}
}

func channelAt(n int) core.ChannelRecord {
	c := core.ChannelRecord{
		Peer:     testPeer(n % crashPeers),
		OpenedAt: t0.Add(time.Duration(n) * time.Minute),
	}
	c.Point.Txid[0] = byte(n >> 8)
	c.Point.Txid[1] = byte(n)
	return c
}

// crashBatch fills b with batch i of the writer.
func crashBatch(b *core.Batch, i int) {
	eventBatch(b, i%crashPeers, uint64(i/crashPeers))
	if i%crashGapEvery == 0 {
		b.Gaps = append(b.Gaps, gapAt(i/crashGapEvery))
	}
	if i%crashChannelEvery == 0 {
		b.Channels = append(b.Channels, channelAt(i/crashChannelEvery))
	}
}

// runWriter writes batches, after those the store holds, as fast as it can, syncing now and then as the
// monitor does, and prints the number of batches written after each
// Write returns, until it is killed.
func runWriter(dir string) error {
	s, err := badgerstore.Open(dir, badgerstore.Options{})
	if err != nil {
		return err
	}
	ctx := context.Background()
	// A store that holds batches goes on after them.
	st, err := s.Load(ctx)
	if err != nil {
		return err
	}
	next := 0
	for _, l := range st.Logs {
		next += len(l.Events)
	}
	var b core.Batch
	for i := next; ; i++ {
		crashBatch(&b, i)
		if err := s.Write(ctx, &b); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(os.Stdout, "%d\n", i+1); err != nil {
			return err
		}
		if i%crashSyncEvery == crashSyncEvery-1 {
			if err := s.Sync(); err != nil {
				return err
			}
		}
	}
}

// runHolder opens the store, says "ready" and keeps it open until its
// stdin closes.
func runHolder(dir string) error {
	s, err := badgerstore.Open(dir, badgerstore.Options{})
	if err != nil {
		return err
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return s.Close()
}

// helper starts the test binary as a helper process and returns it with a
// channel of its stdout lines, closed when its stdout closes.
func helper(t *testing.T, mode, dir string, env ...string) (*exec.Cmd,
	io.WriteCloser, <-chan string, *syncBuffer) {

	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$",
		"-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode,
		helperDirEnv+"="+dir)
	cmd.Env = append(cmd.Env, env...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, stdin, lines, stderr
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader at a
// time: a helper's stderr, read while the helper may still write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestCrash kills a process with SIGKILL while it writes as fast as it
// can, then reopens the store: it opens, and every batch whose Write had
// returned is there, in order and without holes.
func TestCrash(t *testing.T) {
	tests := []struct {
		name      string
		killAfter int
	}{
		{name: "early", killAfter: 3_000},
		{name: "later", killAfter: 23_456},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			reported := killWriter(t, dir, tc.killAfter)

			s := openStore(t, dir, badgerstore.Options{})
			st, err := s.Load(context.Background())
			require.NoError(t, err)
			requireCrashState(t, st, reported)
			t.Logf("killed after %d reported batches", reported)

			// The store goes on from where the writer was.
			var b core.Batch
			next := 0
			for _, l := range st.Logs {
				next += len(l.Events)
			}
			crashBatch(&b, next)
			require.NoError(t, s.Write(context.Background(), &b))
		})
	}
}

// killWriter runs a writer on dir, kills it with SIGKILL once it has
// reported killAfter batches, and returns the number of batches it
// reported, counting the lines it printed before it died.
func killWriter(t *testing.T, dir string, killAfter int) int {
	t.Helper()
	cmd, _, lines, stderr := helper(t, "writer", dir)

	reported := 0
	deadline := time.After(helperDeadline)
wait:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				_ = cmd.Wait()
				require.FailNow(t, "writer stopped",
					"after %d batches: %s", reported,
					stderr.String())
			}
			n, err := strconv.Atoi(line)
			require.NoError(t, err, "writer said %q", line)
			reported = n
			if reported >= killAfter {
				break wait
			}
		case <-deadline:
			require.FailNow(t, "writer too slow",
				"%d batches in %v", reported,
				helperDeadline)
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	// Lines the writer printed before it died count too.
	for line := range lines {
		n, err := strconv.Atoi(line)
		require.NoError(t, err, "writer said %q", line)
		reported = n
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "wait: %v", err)
	ws := exit.Sys().(syscall.WaitStatus)
	require.True(t, ws.Signaled() &&
		ws.Signal() == syscall.SIGKILL, "writer ended: %v", err)
	return reported
}

// requireCrashState checks that st holds the writer's batches 0 to
// reported-1, and at most the one batch after them that may have been
// written but not yet reported.
func requireCrashState(t *testing.T, st *core.StoredState, reported int) {
	t.Helper()
	want := make(map[int]uint64)
	for p := 0; p < crashPeers; p++ {
		want[p] = uint64((reported - p + crashPeers - 1) / crashPeers)
	}
	requireLogs(t, st, want)
	total := 0
	for _, l := range st.Logs {
		total += len(l.Events)
	}
	require.GreaterOrEqual(t, total, reported)
	require.LessOrEqual(t, total, reported+1)

	// Everything of batches 0 to total-1, and nothing more.
	require.Len(t, st.Peers, min(total, crashPeers))
	for _, rec := range st.Peers {
		p := int(rec.Peer[1])<<8 | int(rec.Peer[2])
		last := (total - 1 - p) / crashPeers
		require.Equal(t, last, rec.FlapCount, "peer %d", p)
	}
	require.Len(t, st.Gaps, (total+crashGapEvery-1)/crashGapEvery)
	for i, g := range st.Gaps {
		require.True(t, g.Start.Equal(gapAt(i).Start), "gap %d", i)
		require.True(t, g.End.Equal(gapAt(i).End), "gap %d", i)
	}
	require.Len(t, st.Channels,
		(total+crashChannelEvery-1)/crashChannelEvery)
	for i, c := range st.Channels {
		w := channelAt(i)
		require.Equal(t, w.Point, c.Point, "channel %d", i)
		require.True(t, c.OpenedAt.Equal(w.OpenedAt), "channel %d", i)
	}
}

// TestLockedByOtherProcess opens a store another process holds.
func TestLockedByOtherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd, stdin, lines, stderr := helper(t, "holder", dir)
	select {
	case line, ok := <-lines:
		require.True(t, ok, "holder stopped: %s", stderr.String())
		require.Equal(t, "ready", line)
	case <-time.After(helperDeadline):
		require.FailNow(t, "holder did not start")
	}

	_, err := badgerstore.Open(dir, badgerstore.Options{})
	require.ErrorIs(t, err, badgerstore.ErrLocked)
	require.Contains(t, err.Error(), fmt.Sprintf(
		"open store %q: locked by another process (pid %d holds ", dir,
		cmd.Process.Pid))

	require.NoError(t, stdin.Close())
	for range lines {
	}
	require.NoError(t, cmd.Wait(), stderr.String())
	openStore(t, dir, badgerstore.Options{})
}
