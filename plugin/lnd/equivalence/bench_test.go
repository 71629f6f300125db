package equivalence

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
)

// The benchmarks run the same workload through lnd ("lnd") and core
// ("ours", on the memory store unless the name says otherwise). lnd is fed
// through LND, which waits for lnd to process every event: without that
// its clock-stamped results would depend on goroutine scheduling. Each
// benchmark reports one headline figure, which benchtable turns into
// the lnd/ours table: ns/op, or the single custom metric it reports.

// system is one side of a benchmark.
type system struct {
	clk   *clock.TestClock
	apply func(core.Event) error
	stop  func()

	// lnd is set on the lnd side, mon on ours.
	lnd *LND
	mon *core.Monitor
}

func (s *system) advance(d time.Duration) {
	s.clk.SetTime(s.clk.Now().Add(d))
}

func (s *system) must(b *testing.B, ev core.Event) {
	if err := s.apply(ev); err != nil {
		b.Fatal(err)
	}
}

func newLNDSystem(b *testing.B) *system {
	clk := clock.NewTestClock(Start)
	l, err := NewLND(clk)
	require.NoError(b, err)
	return &system{clk: clk, apply: l.Apply, lnd: l,
		stop: func() { _ = l.Stop() }}
}

// nullStore keeps nothing: with it, the heap holds core's own state only,
// as with a disk store (whose caches do not grow with the history).
type nullStore struct{}

func (nullStore) Load(context.Context) (*core.StoredState, error) {
	return &core.StoredState{}, nil
}
func (nullStore) Write(context.Context, *core.Batch) error { return nil }
func (nullStore) Sync() error                              { return nil }
func (nullStore) Close() error                             { return nil }

func newOursSystem(b *testing.B, st core.Store) *system {
	clk := clock.NewTestClock(Start)
	m := coretest.StartMonitor(b, core.Config{Store: st, Clock: clk})
	ctx := context.Background()
	return &system{
		clk:   clk,
		apply: func(ev core.Event) error { return m.Apply(ctx, ev) },
		mon:   m,
		stop: func() {
			_ = m.Stop()
			_ = st.Close()
		},
	}
}

// sides are the variants every ingest benchmark runs.
var sides = []struct {
	name string
	new  func(b *testing.B) *system
}{
	{"lnd", newLNDSystem},
	{"ours", func(b *testing.B) *system {
		return newOursSystem(b, memory.New())
	}},
	{"ours+badger", func(b *testing.B) *system {
		dir := b.TempDir()
		st, err := badgerstore.Open(dir, badgerstore.Options{
			GCTicker: ticker.NewForce(time.Hour),
		})
		require.NoError(b, err)
		return newOursSystem(b, st)
	}},
}

// benchOp is an event preceded by a clock advance. It holds no pointer,
// so that a long workload costs the garbage collector nothing while the
// systems under test run.
type benchOp struct {
	d    time.Duration
	typ  core.EventType
	peer int32
	cp   core.ChannelPoint
}

func event(typ core.EventType, p, c int) core.Event {
	ev := core.Event{Type: typ, Peer: PeerID(p)}
	if typ == core.ChannelOpened || typ == core.ChannelClosed {
		ev.Channel = ChannelPoint(p, c)
	}
	return ev
}

// peerFlaps returns an offline and an online notification of peer p.
func peerFlaps(p int) [2]core.Event {
	return [2]core.Event{event(core.PeerOffline, p, 0),
		event(core.PeerOnline, p, 0)}
}

// Sizes of the realistic node.
const (
	realPeers     = 1000
	realChansEach = 3
)

// realisticSetup opens realChansEach channels with each of realPeers
// online peers.
func realisticSetup() []core.Event {
	var evs []core.Event
	for p := 0; p < realPeers; p++ {
		evs = append(evs, event(core.PeerOnline, p, 0))
		for c := 0; c < realChansEach; c++ {
			evs = append(evs, event(core.ChannelOpened, p, c))
		}
	}
	return evs
}

// realisticMix returns n events of a node with realPeers peers after
// realisticSetup: about one event every 20 s, so each peer flaps every few
// hours, with a channel opened or closed now and then.
func realisticMix(n int) []benchOp {
	rng := rand.New(rand.NewPCG(1, 2))
	online := make([]bool, realPeers)
	next := make([]int, realPeers)
	var open []ChanRef
	for p := range online {
		online[p] = true
		next[p] = realChansEach
		for c := 0; c < realChansEach; c++ {
			open = append(open, ChanRef{p, c})
		}
	}
	out := make([]benchOp, n)
	for i := range out {
		op := &out[i]
		op.d = time.Duration(rng.ExpFloat64() *
			float64(20*time.Second))
		p := rng.IntN(realPeers)
		op.peer = int32(p)
		switch x := rng.IntN(100); {
		case x < 3:
			op.typ = core.ChannelOpened
			op.cp = ChannelPoint(p, next[p])
			open = append(open, ChanRef{p, next[p]})
			next[p]++
		case x < 6 && len(open) > 0:
			j := rng.IntN(len(open))
			r := open[j]
			open[j] = open[len(open)-1]
			open = open[:len(open)-1]
			op.typ = core.ChannelClosed
			op.peer = int32(r.Peer)
			op.cp = ChannelPoint(r.Peer, r.Chan)
		default:
			online[p] = !online[p]
			op.typ = core.PeerOffline
			if online[p] {
				op.typ = core.PeerOnline
			}
		}
	}
	return out
}

// BenchmarkIngestRealistic: one event of a node with 1,000 peers and
// 3,000 channels where peers flap rarely.
func BenchmarkIngestRealistic(b *testing.B) {
	peers := make([]core.PeerID, realPeers)
	for p := range peers {
		peers[p] = PeerID(p)
	}
	for _, side := range sides {
		b.Run(side.name, func(b *testing.B) {
			s := side.new(b)
			defer s.stop()
			for _, ev := range realisticSetup() {
				s.must(b, ev)
			}
			ops := realisticMix(b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range ops {
				op := &ops[i]
				s.advance(op.d)
				s.must(b, core.Event{Type: op.typ,
					Peer: peers[op.peer], Channel: op.cp})
			}
		})
	}
}

// BenchmarkIngestFlapStorm: one event of a single peer flapping as fast
// as possible (a millisecond apart).
func BenchmarkIngestFlapStorm(b *testing.B) {
	flaps := peerFlaps(0)
	for _, side := range sides {
		b.Run(side.name, func(b *testing.B) {
			s := side.new(b)
			defer s.stop()
			s.must(b, event(core.PeerOnline, 0, 0))
			s.must(b, event(core.ChannelOpened, 0, 0))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.advance(time.Millisecond)
				s.must(b, flaps[i%2])
			}
		})
	}
}

// commitSpacing separates events enough for each to commit whatever the
// peer's rate-limit tier (the highest spacing is 1 h).
const commitSpacing = time.Hour + time.Minute

// buildHistory gives peer 0, with channel 0 open, n committed events.
func buildHistory(b *testing.B, s *system, n int) {
	s.must(b, event(core.PeerOnline, 0, 0))
	s.must(b, event(core.ChannelOpened, 0, 0))

	// The open staged the first event; each later one commits the one
	// before it.
	flaps := peerFlaps(0)
	for i := 0; i < n; i++ {
		s.advance(commitSpacing)
		s.must(b, flaps[i%2])
	}
	s.advance(time.Minute)
}

// historyFixture is a pair of systems sharing one history; building the
// largest takes seconds, so each size is built once per process.
type historyFixture struct {
	once     sync.Once
	ok       bool
	lnd, our *system
}

var historyFixtures sync.Map // int -> *historyFixture

func history(b *testing.B, n int) *historyFixture {
	v, _ := historyFixtures.LoadOrStore(n, &historyFixture{})
	f := v.(*historyFixture)
	f.once.Do(func() {
		f.lnd = newLNDSystem(b)
		f.our = newOursSystem(b, memory.New())
		buildHistory(b, f.lnd, n)
		buildHistory(b, f.our, n)

		// Both must give the same numbers before their speed counts.
		life, up, err := f.lnd.lnd.ChannelInfo(PeerID(0),
			ChannelPoint(0, 0))
		require.NoError(b, err)
		info, err := f.our.mon.ChannelInfo(context.Background(),
			ChannelPoint(0, 0))
		require.NoError(b, err)
		require.Equal(b, life, info.Lifetime, "lifetime")
		require.Equal(b, up, info.Uptime, "uptime")
		f.ok = true
	})
	if !f.ok {
		b.Fatal("history fixture failed to build")
	}
	return f
}

// BenchmarkChannelInfo: one lifetime and uptime query of a channel whose
// peer has 10^2, 10^4 and 10^6 committed events.
func BenchmarkChannelInfo(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{100, 10_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			f := history(b, n)
			peer, cp := PeerID(0), ChannelPoint(0, 0)
			b.Run("lnd", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					_, _, err := f.lnd.lnd.ChannelInfo(peer,
						cp)
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("ours", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					_, err := f.our.mon.ChannelInfo(ctx, cp)
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// heapBytes returns the live heap after a full collection.
func heapBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// memorySides are the variants of the memory benchmarks: lnd, core alone
// (as with a disk store), and core with the memory store's copy of every
// event.
var memorySides = []struct {
	name string
	new  func(b *testing.B) *system
}{
	{"lnd", newLNDSystem},
	{"ours", func(b *testing.B) *system {
		return newOursSystem(b, nullStore{})
	}},
	{"ours+memstore", func(b *testing.B) *system {
		return newOursSystem(b, memory.New())
	}},
}

// BenchmarkMemoryPerEvent: heap bytes per committed event, over a history
// of 200,000 committed events of one peer (an op builds the history).
func BenchmarkMemoryPerEvent(b *testing.B) {
	const n = 200_000
	flaps := peerFlaps(0)
	for _, side := range memorySides {
		b.Run(side.name, func(b *testing.B) {
			var perEvent float64
			for i := 0; i < b.N; i++ {
				s := side.new(b)
				s.must(b, event(core.PeerOnline, 0, 0))
				s.must(b, event(core.ChannelOpened, 0, 0))
				before := heapBytes()
				for j := 0; j < n; j++ {
					s.advance(commitSpacing)
					s.must(b, flaps[j%2])
				}
				after := heapBytes()
				perEvent = (float64(after) -
					float64(before)) / n
				runtime.KeepAlive(s)
				s.stop()
			}
			b.ReportMetric(perEvent, "B/event")
		})
	}
}

// BenchmarkMemoryFlapStorm: heap held by a system after 1,000,000 flaps
// of one peer, counted from before the system was created (an op runs the
// whole storm). "1ms": the flaps come a millisecond apart and rate
// limiting keeps almost all of them out of the log; "committed": they
// come just far enough apart for every one to be committed, the worst
// case.
func BenchmarkMemoryFlapStorm(b *testing.B) {
	const n = 1_000_000
	paces := []struct {
		name    string
		spacing time.Duration
	}{
		{"1ms", time.Millisecond},
		{"committed", commitSpacing},
	}
	for _, pace := range paces {
		b.Run(pace.name, func(b *testing.B) {
			for _, side := range memorySides {
				b.Run(side.name, func(b *testing.B) {
					// A short storm first initialises
					// whatever is set up once per process.
					stormHeld(b, side.new, pace.spacing,
						1000)

					var held float64
					for i := 0; i < b.N; i++ {
						held = stormHeld(b, side.new,
							pace.spacing, n)
					}
					b.ReportMetric(held, "B-held")
				})
			}
		})
	}
}

// stormHeld runs n flaps of one peer spaced by spacing on a new system and
// returns the heap it holds afterwards.
func stormHeld(b *testing.B, newSystem func(*testing.B) *system,
	spacing time.Duration, n int) float64 {

	flaps := peerFlaps(0)
	before := heapBytes()
	s := newSystem(b)
	s.must(b, flaps[1])
	s.must(b, event(core.ChannelOpened, 0, 0))
	for j := 0; j < n; j++ {
		s.advance(spacing)
		s.must(b, flaps[j%2])
	}
	held := float64(heapBytes()) - float64(before)
	runtime.KeepAlive(s)
	s.stop()
	return held
}

// Sizes of the report workload.
const (
	reportPeers     = 1000
	reportChansEach = 5
	reportRounds    = 60
)

// reportFixture is a node with 5,000 channels and 15 days of history,
// built once per process.
var reportFixture struct {
	once     sync.Once
	ok       bool
	lnd, our *system
}

// buildReportNode opens reportChansEach channels with each of reportPeers
// peers, then runs reportRounds rounds of 6 h in which about a third of
// the peers go offline for 30 minutes.
func buildReportNode(b *testing.B, s *system) {
	for p := 0; p < reportPeers; p++ {
		s.must(b, event(core.PeerOnline, p, 0))
		for c := 0; c < reportChansEach; c++ {
			s.must(b, event(core.ChannelOpened, p, c))
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for r := 0; r < reportRounds; r++ {
		var down []int
		for p := 0; p < reportPeers; p++ {
			if rng.IntN(3) == 0 {
				down = append(down, p)
			}
		}
		for _, p := range down {
			s.advance(time.Second)
			s.must(b, event(core.PeerOffline, p, 0))
		}
		s.advance(30 * time.Minute)
		for _, p := range down {
			s.advance(time.Second)
			s.must(b, event(core.PeerOnline, p, 0))
		}
		s.advance(6 * time.Hour)
	}
}

func reportNode(b *testing.B) (lnd, our *system) {
	f := &reportFixture
	f.once.Do(func() {
		f.lnd = newLNDSystem(b)
		f.our = newOursSystem(b, memory.New())
		buildReportNode(b, f.lnd)
		buildReportNode(b, f.our)
		r, err := f.our.mon.Report(context.Background(),
			core.ReportQuery{})
		require.NoError(b, err)
		require.Len(b, r.Channels, reportPeers*reportChansEach)
		for _, c := range r.Channels[:50] {
			cp, err := core.ParseChannelPoint(c.ChannelPoint)
			require.NoError(b, err)
			peer, err := core.ParsePeerID(c.PeerID)
			require.NoError(b, err)
			life, up, err := f.lnd.lnd.ChannelInfo(peer, cp)
			require.NoError(b, err)
			require.Equal(b, int64(life/time.Second),
				c.LifetimeSeconds, "lifetime of %v", cp)
			require.Equal(b, int64(up/time.Second),
				c.UptimeSeconds, "uptime of %v", cp)
		}
		f.ok = true
	})
	if !f.ok {
		b.Fatal("report fixture failed to build")
	}
	return f.lnd, f.our
}

// BenchmarkReport5000: a full report of 5,000 channels and 1,000 peers,
// against lnd's equivalent: a lifetime and uptime query per channel and a
// flap-count query per peer.
func BenchmarkReport5000(b *testing.B) {
	lnd, our := reportNode(b)
	b.Run("lnd", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			for p := 0; p < reportPeers; p++ {
				peer := PeerID(p)
				for c := 0; c < reportChansEach; c++ {
					_, _, err := lnd.lnd.ChannelInfo(peer,
						ChannelPoint(p, c))
					if err != nil {
						b.Fatal(err)
					}
				}
				if _, _, err := lnd.lnd.FlapCount(
					peer); err != nil {

					b.Fatal(err)
				}
			}
		}
	})
	b.Run("ours", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			r, err := our.mon.Report(ctx, core.ReportQuery{})
			if err != nil {
				b.Fatal(err)
			}
			if len(r.Channels) != reportPeers*reportChansEach {
				b.Fatalf("report has %d channels",
					len(r.Channels))
			}
		}
	})
}

// TestMain stops the systems that benchmark fixtures keep for the whole
// process.
func TestMain(m *testing.M) {
	code := m.Run()
	stop := func(ss ...*system) {
		for _, s := range ss {
			if s != nil {
				s.stop()
			}
		}
	}
	historyFixtures.Range(func(_, v any) bool {
		f := v.(*historyFixture)
		stop(f.lnd, f.our)
		return true
	})
	stop(reportFixture.lnd, reportFixture.our)
	os.Exit(code)
}
