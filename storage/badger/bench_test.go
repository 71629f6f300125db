package badgerstore_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/chanfitness/chanfitness/storage/storagetest"
	"github.com/stretchr/testify/require"
)

// BenchmarkWrite writes what the monitor writes per event: one peer record
// and one log event, for 100 peers in turn, reusing the batch. It calls
// Sync every 100,000 writes, as the monitor's one-second timer would at
// that rate.
func BenchmarkWrite(b *testing.B) {
	s, err := badgerstore.Open(b.TempDir(), badgerstore.Options{})
	require.NoError(b, err)
	defer func() { require.NoError(b, s.Close()) }()
	storagetest.BenchmarkWrite(b, s, 100_000)
}

// Fixture size of BenchmarkLoad: a node's year.
const (
	fixturePeers    = 3000
	fixtureChannels = 5000
	fixtureRun      = 16
)

// buildFixture writes 3,000 peers with about 2,000,000 log events between
// them (from 200 to 1,133 each), 5,000 channels (half closed, with frozen
// numbers) and a gap a day for a year. Logs arrive in runs of 16 events,
// peers in turn, so that every peer's log is spread over many moves into
// badger as it would be after a year of running. It returns the number of
// log events.
func buildFixture(b *testing.B, dir string) int {
	s, err := badgerstore.Open(dir, badgerstore.Options{})
	require.NoError(b, err)
	ctx := context.Background()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

	ids := make([]core.PeerID, fixturePeers)
	want := make([]int, fixturePeers)
	for i := range ids {
		ids[i][0] = 0x02
		ids[i][1] = byte(i >> 8)
		ids[i][2] = byte(i)
		want[i] = 200 + (i*7919)%934
	}

	var batch core.Batch
	meta := core.Meta{MonitoringSince: start, Heartbeat: start}
	batch.Meta = &meta
	for d := 0; d < 365; d++ {
		day := start.Add(time.Duration(d) * 24 * time.Hour)
		batch.Gaps = append(batch.Gaps, core.Gap{Start: day,
			End: day.Add(time.Minute)})
	}
	for i := range ids {
		batch.Peers = append(batch.Peers, core.PeerRecord{
			Peer:         ids[i],
			TrackedSince: start,
			Online:       true,
			StateSince:   start,
			FlapCount:    want[i],
			LastFlap:     start,
			Staged:       &core.LogEvent{Time: start},
			LastEvent:    start,
		})
	}
	for c := 0; c < fixtureChannels; c++ {
		ch := core.ChannelRecord{
			Peer:           ids[c%fixturePeers],
			ShortChannelID: "800000x1x1",
			OpenedAt:       start,
		}
		ch.Point.Txid[0] = byte(c >> 8)
		ch.Point.Txid[1] = byte(c)
		if c%2 == 1 {
			ch.ClosedAt = start.Add(time.Hour)
			ch.Frozen = map[string]core.WindowNumbers{
				"1d": {}, "7d": {}, "30d": {}, "90d": {},
				"lifetime": {Monitored: time.Hour},
			}
		}
		batch.Channels = append(batch.Channels, ch)
	}
	require.NoError(b, s.Write(ctx, &batch))

	done := make([]int, fixturePeers)
	total := 0
	evs := make([]core.LogEvent, fixtureRun)
	for more := true; more; {
		more = false
		for i := range ids {
			n := min(fixtureRun, want[i]-done[i])
			if n == 0 {
				continue
			}
			more = true
			for j := 0; j < n; j++ {
				sec := (done[i] + j) * 47
				evs[j] = core.LogEvent{
					Time: start.Add(time.Duration(sec)*
						time.Second + time.Duration(j)),
					State: core.State(j & 1),
				}
			}
			batch.Reset()
			batch.Logs = append(batch.Logs, core.PeerLog{
				Peer:   ids[i],
				Seq:    uint64(done[i]),
				Events: evs[:n],
			})
			require.NoError(b, s.Write(ctx, &batch))
			done[i] += n
			total += n
		}
	}
	require.NoError(b, s.Close())
	return total
}

// BenchmarkLoad measures a restart: Open and Load of a store holding a
// year of a large node (see buildFixture), then Close.
func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	events := buildFixture(b, dir)
	b.Run("3000peers-5000channels", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			s, err := badgerstore.Open(dir, badgerstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			st, err := s.Load(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if len(st.Logs) != fixturePeers ||
				len(st.Channels) != fixtureChannels {

				b.Fatalf("loaded %d logs, %d channels",
					len(st.Logs), len(st.Channels))
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(events)*float64(b.N)/
			b.Elapsed().Seconds(), "events/s")
	})
}

// BenchmarkWriteBatch writes batches of 1,000 events (ten for each of 100
// peers, with their records), as a bootstrap or a burst does, syncing
// every 100 batches. It reports events/s.
func BenchmarkWriteBatch(b *testing.B) {
	s, err := badgerstore.Open(b.TempDir(), badgerstore.Options{})
	require.NoError(b, err)
	defer func() { require.NoError(b, s.Close()) }()
	ctx := context.Background()
	const peers, per = 100, 10
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var batch core.Batch
	seq := make([]uint64, peers)
	evs := make([]core.LogEvent, peers*per)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch.Reset()
		for p := 0; p < peers; p++ {
			id := testPeer(p)
			run := evs[p*per : (p+1)*per]
			for j := range run {
				run[j] = core.LogEvent{Time: start.Add(
					time.Duration(i*per+j) * time.Second),
					State: core.State(j & 1)}
			}
			batch.Peers = append(batch.Peers, core.PeerRecord{
				Peer: id, LastEvent: run[per-1].Time,
				FlapCount: i})
			batch.Logs = append(batch.Logs, core.PeerLog{Peer: id,
				Seq: seq[p], Events: run})
			seq[p] += per
		}
		if err := s.Write(ctx, &batch); err != nil {
			b.Fatal(err)
		}
		if i%100 == 99 {
			if err := s.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Sync(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*peers*per)/b.Elapsed().Seconds(),
		"events/s")
}

// idleMinutes is the number of idle minutes the idle helper simulates.
const idleMinutes = 30

// runIdle opens the store in dir and spends minutes idle minutes as the
// monitor spends them on a node without events: one heartbeat write and
// one sync each. Then it closes the store.
func runIdle(dir string, minutes int) error {
	s, err := badgerstore.Open(dir, badgerstore.Options{
		BackupInterval: -1})
	if err != nil {
		return err
	}
	ctx := context.Background()
	meta := core.Meta{MonitoringSince: t0}
	for i := 0; i < minutes; i++ {
		meta.Heartbeat = t0.Add(time.Duration(i) * time.Minute)
		if err := s.Write(ctx, &core.Batch{Meta: &meta}); err != nil {
			return err
		}
		if err := s.Sync(); err != nil {
			return err
		}
	}
	return s.Close()
}

// BenchmarkIdleMinute counts the system calls that reach the disk (fsync,
// fdatasync, msync, write, pwrite, ftruncate) per idle minute of the
// monitor: the calls of a run with idleMinutes heartbeats and syncs, less
// those of a run with none, over idleMinutes. It needs strace.
func BenchmarkIdleMinute(b *testing.B) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		b.Skip("strace is not installed: apt-get install strace")
	}
	count := func(minutes int) map[string]int {
		dir := b.TempDir()
		require.NoError(b, runIdle(dir, 10))
		out := filepath.Join(b.TempDir(), "strace")
		cmd := exec.Command(strace, "-f", "-c", "-o", out,
			"-e", "trace=fsync,fdatasync,msync,syncfs,write,"+
				"pwrite64,"+
				"ftruncate",
			os.Args[0], "-test.run=^TestHelperProcess$",
			"-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"=idle",
			helperDirEnv+"="+dir,
			helperMinutesEnv+"="+strconv.Itoa(minutes))
		msg, err := cmd.CombinedOutput()
		require.NoError(b, err, "%s", msg)
		data, err := os.ReadFile(out)
		require.NoError(b, err)
		calls := make(map[string]int)
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) < 5 {
				continue
			}
			n, err := strconv.Atoi(f[3])
			if err != nil {
				continue
			}
			calls[f[len(f)-1]] = n
		}
		return calls
	}
	for i := 0; i < b.N; i++ {
		base, idle := count(0), count(idleMinutes)
		per := func(names ...string) float64 {
			n := 0
			for _, name := range names {
				n += idle[name] - base[name]
			}
			return float64(n) / idleMinutes
		}
		b.ReportMetric(per("fsync", "fdatasync", "msync",
			"syncfs"), "syncs/min")
		b.ReportMetric(per("write", "pwrite64", "ftruncate"),
			"writes/min")
	}
}
