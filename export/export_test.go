package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/export"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func peer(n byte) core.PeerID {
	var p core.PeerID
	p[0] = 2
	p[32] = n
	return p
}

func point(n byte) core.ChannelPoint {
	var cp core.ChannelPoint
	cp.Txid[0] = n
	return cp
}

func readReport(t *testing.T, dir string) core.Report {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, export.ReportFile))
	require.NoError(t, err)
	var r core.Report
	require.NoError(t, json.Unmarshal(raw, &r))
	return r
}

// TestExporter: the files are written at start, again when a channel
// opens or a verdict changes, on every tick, and not for a change that
// alters neither.
func TestExporter(t *testing.T) {
	clk := clock.NewTestClock(t0)
	m := coretest.StartMonitor(t, core.Config{Store: memory.New(),
		Clock: clk})
	ctx := context.Background()
	apply := func(typ core.EventType, p core.PeerID, cp core.ChannelPoint) {
		require.NoError(t, m.Apply(ctx, core.Event{Type: typ, Peer: p,
			Channel: cp}))
	}
	apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	apply(core.ChannelOpened, peer(1), point(1))

	dir := filepath.Join(t.TempDir(), "export")
	tick := ticker.NewForce(time.Hour)
	e, err := export.New(export.Config{Dir: dir, Source: m, Clock: clk,
		Ticker: tick})
	require.NoError(t, err)
	require.NoError(t, e.Start(ctx))
	t.Cleanup(e.Stop)
	require.EqualValues(t, 1, e.Writes())
	require.Len(t, readReport(t, dir).Channels, 1)
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	fi, err = os.Stat(filepath.Join(dir, export.ReportFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	waitWrites := func(n uint64) {
		t.Helper()
		require.Eventually(t, func() bool { return e.Writes() >= n },
			10*time.Second, time.Millisecond)
	}

	// A channel opens.
	apply(core.ChannelOpened, peer(2), point(2))
	waitWrites(2)
	require.Len(t, readReport(t, dir).Channels, 2)

	// A flap changes no verdict (both too new): no rewrite, until the
	// tick.
	apply(core.PeerOffline, peer(1), core.ChannelPoint{})
	tick.Force <- time.Now()
	waitWrites(3)
	require.EqualValues(t, 3, e.Writes())
	require.False(t, readReport(t, dir).Peers[0].Online)

	// 14 days later peer 1 is judged: offline all along, so
	// consider_closing, and listed.
	clk.SetTime(t0.Add(15 * 24 * time.Hour))
	apply(core.PeerOnline, peer(2), core.ChannelPoint{})
	waitWrites(4)
	unrel, err := os.ReadFile(filepath.Join(dir, export.UnreliableFile))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(unrel)), "\n")
	require.Equal(t, peer(1).String(), lines[len(lines)-1])
	require.True(t, strings.HasPrefix(lines[len(lines)-2], "# uptime 0.0%"),
		lines[len(lines)-2])
	watch, err := os.ReadFile(filepath.Join(dir, export.WatchFile))
	require.NoError(t, err)
	for _, l := range strings.Split(strings.TrimSpace(string(watch)),
		"\n") {

		require.True(t, strings.HasPrefix(l, "#"), l)
	}

	e.Stop()
	e.Stop()
}

// TestExporterBadDirectory: a file where the directory should be is an
// error naming it.
func TestExporterBadDirectory(t *testing.T) {
	m := coretest.StartMonitor(t, core.Config{Store: memory.New()})
	path := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(path, []byte("x"), 0o600))
	e, err := export.New(export.Config{Dir: path, Source: m,
		Ticker: ticker.NewForce(time.Hour)})
	require.NoError(t, err)
	err = e.Start(context.Background())
	require.ErrorContains(t, err, path)
	e.Stop()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "x", string(b))
}

// TestWriteFileReplacesSymlink: a link at the file's name is replaced,
// and what it pointed to is left alone.
func TestWriteFileReplacesSymlink(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	target := filepath.Join(other, "precious")
	require.NoError(t, os.WriteFile(target, []byte("keep"), 0o644))
	require.NoError(t, os.Symlink(target,
		filepath.Join(dir, export.ReportFile)))
	require.NoError(t, export.WriteFile(dir, export.ReportFile,
		[]byte("new")))
	b, err := os.ReadFile(target)
	require.NoError(t, err)
	require.Equal(t, "keep", string(b))
	fi, err := os.Lstat(filepath.Join(dir, export.ReportFile))
	require.NoError(t, err)
	require.True(t, fi.Mode().IsRegular())
}

// version returns the content of version k of a file: large enough
// that a write takes more than one system call's worth, and checkable.
func version(k int) []byte {
	line := fmt.Sprintf("version %d\n", k)
	return []byte(strings.Repeat(line, 20000) + "end " +
		strconv.Itoa(k) + "\n")
}

// checkVersion fails unless b is one whole version.
func checkVersion(t *testing.T, b []byte) int {
	t.Helper()
	i := bytes.LastIndex(b, []byte("end "))
	require.GreaterOrEqual(t, i, 0, "no end line in %d bytes", len(b))
	k, err := strconv.Atoi(strings.TrimSpace(string(b[i+4:])))
	require.NoError(t, err)
	require.True(t, bytes.Equal(version(k), b), "version %d mixed", k)
	return k
}

// TestConcurrentReaderSeesWholeFiles: a reader polling while the files
// are rewritten over and over never sees a partial or mixed one.
func TestConcurrentReaderSeesWholeFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, export.WriteFile(dir, "f", version(0)))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	reads := 0
	go func() {
		defer wg.Done()
		last := 0
		for {
			select {
			case <-done:
				return
			default:
			}
			b, err := os.ReadFile(filepath.Join(dir, "f"))
			if !assertNoError(t, err) {
				return
			}
			k := checkVersion(t, b)
			require.GreaterOrEqual(t, k, last, "went back")
			last = k
			reads++
		}
	}()
	for k := 1; k <= 200; k++ {
		require.NoError(t, export.WriteFile(dir, "f", version(k)))
	}
	close(done)
	wg.Wait()
	require.Positive(t, reads)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 1, "temporary files left")
}

func assertNoError(t *testing.T, err error) bool {
	if err != nil {
		t.Errorf("read: %v", err)
		return false
	}
	return true
}

// envWriter makes the test binary a writer that rewrites a file forever
// (TestKillWriter runs it).
const envWriter = "CHANFITNESS_EXPORT_WRITER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(envWriter); dir != "" {
		for k := 1; ; k++ {
			if err := export.WriteFile(dir, "f",
				version(k)); err != nil {

				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
	}
	os.Exit(m.Run())
}

// TestKillWriter: kill -9 of a process in the middle of rewriting
// leaves the old version or the new one, never a mix, and the next
// start clears the temporary file it left.
func TestKillWriter(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, export.WriteFile(dir, "f", version(0)))
	for round := 0; round < 5; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envWriter+"="+dir)
		require.NoError(t, cmd.Start())
		// Let it rewrite a few times, then kill it wherever it is.
		require.Eventually(t, func() bool {
			b, err := os.ReadFile(filepath.Join(dir, "f"))
			return err == nil && checkVersion(t, b) > 3*round+2
		}, 30*time.Second, time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		b, err := os.ReadFile(filepath.Join(dir, "f"))
		require.NoError(t, err)
		checkVersion(t, b)
	}

	// An exporter starting there removes what a kill left.
	m := coretest.StartMonitor(t, core.Config{Store: memory.New()})
	e, err := export.New(export.Config{Dir: dir, Source: m,
		Ticker: ticker.NewForce(time.Hour)})
	require.NoError(t, err)
	require.NoError(t, e.Start(context.Background()))
	e.Stop()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, ent := range ents {
		require.False(t, strings.HasPrefix(ent.Name(), "."), ent.Name())
	}
}

// TestWriteFileOverDirectory: a directory where the file should be is
// an error naming it, and no temporary file is left.
func TestWriteFileOverDirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, export.ReportFile),
		0o700))
	err := export.WriteFile(dir, export.ReportFile, []byte("x"))
	require.ErrorContains(t, err, filepath.Join(dir, export.ReportFile))
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 1)
}
