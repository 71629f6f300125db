package lndsource

import (
	"context"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/plugin/lnd/lndtest"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/lightningnetwork/lnd/lnrpc"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// blockPerms is the least-privilege macaroon with the optional
// onchain:read.
var blockPerms = append(append([]string(nil), allPerms...), "onchain:read")

// tip is the fake chain's height at t0.
const tip = 10_000

// steadyChain returns the time of each block of a chain whose blocks come
// every 10 minutes on average, alternately 7 and 13 minutes apart, with
// block tip mined at t0.
func steadyChain(h uint32) time.Time {
	d := time.Duration(tip-int64(h)) * 10 * time.Minute
	if h%2 == 1 {
		d += 3 * time.Minute
	}
	return t0.Add(-d)
}

// openTimesCtx is a source on a fake lnd whose chain has a tip at t0,
// with two channels funded 100 and 1000 blocks earlier and one zero-conf
// channel not confirmed yet.
type openTimesCtx struct {
	*testCtx
	a, b, z string
	store   *memory.Store
}

func newOpenTimesCtx(t *testing.T) *openTimesCtx {
	c := &openTimesCtx{testCtx: newTestCtx(t), store: memory.New()}
	c.a, c.b, c.z = lndtest.ChanPoint(1), lndtest.ChanPoint(2),
		lndtest.ChanPoint(3)
	p1, p2 := lndtest.PeerKey(1), lndtest.PeerKey(2)
	c.srv.SetChain(tip, steadyChain)
	c.srv.OpenChannel(c.a, p1, scid(tip-100, 1, 0))
	c.srv.OpenChannel(c.b, p2, scid(tip-1001, 4, 1))
	alias := scid(aliasStart, 0, 1)
	c.srv.OpenChannel(c.z, p2, alias)
	c.srv.UpdateChannel(c.z, func(ch *lnrpc.Channel) {
		ch.ZeroConf = true
		ch.AliasScids = []uint64{alias}
	})
	c.srv.SetOnline(p1, true)
	return c
}

// run starts a monitor with the store of c and a source with a macaroon
// granting perms, and waits for the first sync. stop stops both.
func (c *openTimesCtx) run(perms ...string) (mon *core.Monitor,
	sync func(), stop func()) {

	t := c.t
	c.cfg.Conn.MacaroonPath = c.srv.Macaroon(t, perms...)
	synced := make(chan error, 10)
	src := signalSource{src: c.newSource(), synced: synced}
	mon, err := core.NewMonitor(core.Config{
		Store:             c.store,
		Clock:             c.clock,
		Source:            src,
		Logger:            c.log,
		SyncTicker:        ticker.NewForce(time.Second),
		MaintenanceTicker: ticker.NewForce(time.Hour),
	})
	require.NoError(t, err)
	require.NoError(t, mon.Start(context.Background()))
	sync = func() {
		t.Helper()
		select {
		case err := <-synced:
			require.NoError(t, err)
		case <-time.After(lndtest.WaitTimeout):
			require.FailNow(t, "no sync")
		}
	}
	sync()
	return mon, sync, func() { require.NoError(t, mon.Stop()) }
}

// channel returns the report of channel cp.
func channel(t *testing.T, mon *core.Monitor, cp string) core.ChannelReport {
	t.Helper()
	r, err := mon.Report(context.Background(), core.ReportQuery{})
	require.NoError(t, err)
	ch, ok := coretest.Channel(r, cp)
	require.True(t, ok, "channel %s", cp)
	return ch
}

// ageBlocks returns a channel's age_blocks, -1 for null.
func ageBlocks(ch core.ChannelReport) int64 {
	if ch.AgeBlocks == nil {
		return -1
	}
	return *ch.AgeBlocks
}

func TestSourceOpenTimesFromBlockHeaders(t *testing.T) {
	c := newOpenTimesCtx(t)
	mon, sync, stop := c.run(blockPerms...)
	defer stop()

	a := channel(t, mon, c.a)
	require.Equal(t, "node", a.OpenedAtSource)
	require.Equal(t, steadyChain(tip-100), a.OpenedAt.Time)
	require.Equal(t, int64(100), ageBlocks(a))
	require.Equal(t, int64(t0.Sub(a.OpenedAt.Time)/time.Second),
		a.AgeSeconds)
	require.Zero(t, a.LifetimeSeconds, "lifetime is monitored time")

	b := channel(t, mon, c.b)
	require.Equal(t, "node", b.OpenedAtSource)
	require.Equal(t, steadyChain(tip-1001), b.OpenedAt.Time)
	require.Equal(t, int64(1001), ageBlocks(b))

	// Not confirmed yet: the alias says nothing, so first sight.
	z := channel(t, mon, c.z)
	require.Equal(t, "seen", z.OpenedAtSource)
	require.Equal(t, t0, z.OpenedAt.Time)
	require.Equal(t, int64(-1), ageBlocks(z))

	// The headers are read once per height; the chain grows.
	require.Equal(t, 2, c.srv.Calls("GetBlockHeader"))
	c.clock.SetTime(t0.Add(time.Hour))
	c.srv.SetChain(tip+6, steadyChain)
	c.srv.UpdateChannel(c.z, func(ch *lnrpc.Channel) {
		ch.ZeroConfConfirmedScid = scid(tip+3, 2, 0)
	})
	c.tick()
	sync()
	require.Equal(t, 3, c.srv.Calls("GetBlockHeader"))
	require.Equal(t, int64(106), ageBlocks(channel(t, mon, c.a)))
	z = channel(t, mon, c.z)
	require.Equal(t, "seen", z.OpenedAtSource, "seen stays seen")
	require.Equal(t, t0, z.OpenedAt.Time)
	require.Equal(t, int64(3), ageBlocks(z))
	require.Empty(t, c.log.lines("estimated"))
}

func TestSourceOpenTimesEstimated(t *testing.T) {
	c := newOpenTimesCtx(t)
	mon, _, stop := c.run(allPerms...)
	defer stop()

	for _, tc := range []struct {
		cp     string
		blocks int64
	}{{c.a, 100}, {c.b, 1001}} {
		ch := channel(t, mon, tc.cp)
		require.Equal(t, "estimated", ch.OpenedAtSource)
		require.Equal(t, tc.blocks, ageBlocks(ch))
		require.Equal(t, t0.Add(-time.Duration(tc.blocks)*
			BlockInterval), ch.OpenedAt.Time)

		// Within 10 % of the funding block's time.
		real := t0.Sub(steadyChain(uint32(tip - tc.blocks)))
		got := time.Duration(ch.AgeSeconds) * time.Second
		require.InEpsilon(t, real.Seconds(), got.Seconds(), 0.1,
			"age %v, real %v", got, real)
	}
	require.Zero(t, c.srv.Calls("GetBlockHash"),
		"no call the macaroon cannot make")
}

func TestSourceOpenTimesWithoutChainKit(t *testing.T) {
	c := newOpenTimesCtx(t)
	c.srv.SetNoChainKit(true)
	mon, sync, stop := c.run(blockPerms...)
	defer stop()

	require.Equal(t, "estimated", channel(t, mon, c.a).OpenedAtSource)
	require.Len(t, c.log.lines("INF", "estimated", "Unimplemented"), 1)

	// Not asked again on every reconcile.
	n := c.srv.Calls("GetBlockHash")
	c.tick()
	sync()
	require.Equal(t, n, c.srv.Calls("GetBlockHash"))
}

func TestSourceOpenTimeEstimateCorrected(t *testing.T) {
	c := newOpenTimesCtx(t)
	mon, _, stop := c.run(allPerms...)
	require.Equal(t, "estimated", channel(t, mon, c.a).OpenedAtSource)
	stop()

	// The companion restarts with onchain:read added.
	c.clock.SetTime(t0.Add(time.Hour))
	mon, _, stop = c.run(blockPerms...)
	defer stop()
	r, err := mon.Report(context.Background(), core.ReportQuery{})
	require.NoError(t, err)
	require.Len(t, r.Channels, 3, "corrected, not duplicated")
	a := channel(t, mon, c.a)
	require.Equal(t, "node", a.OpenedAtSource)
	require.Equal(t, steadyChain(tip-100), a.OpenedAt.Time)
	require.Equal(t, int64(100), ageBlocks(a))
}

func TestFundingHeight(t *testing.T) {
	alias := scid(aliasStart+5, 0, 1)
	for _, tc := range []struct {
		name string
		ch   *lnrpc.Channel
		want uint32
	}{
		{"confirmed", &lnrpc.Channel{ChanId: scid(800_000, 5, 1)},
			800_000},
		{"pending", &lnrpc.Channel{}, 0},
		{"zero-conf unconfirmed", &lnrpc.Channel{ChanId: alias,
			ZeroConf: true, AliasScids: []uint64{alias}}, 0},
		{"zero-conf confirmed", &lnrpc.Channel{ChanId: alias,
			ZeroConf: true, AliasScids: []uint64{alias},
			ZeroConfConfirmedScid: scid(800_001, 1, 0)}, 800_001},
		{"alias listed", &lnrpc.Channel{ChanId: scid(700, 1, 1),
			AliasScids: []uint64{scid(700, 1, 1)}}, 0},
		{"alias range", &lnrpc.Channel{ChanId: alias}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, fundingHeight(tc.ch))
		})
	}
}

// TestSourceOpenTimesOutOfRange keeps a snapshot valid when a header time
// or an estimate would be absurd: a header from 1970 is not believed, and
// an estimate on a chain of millions of fast blocks (testnet3) stops at
// Bitcoin's first block.
func TestSourceOpenTimesOutOfRange(t *testing.T) {
	c := newTestCtx(t)
	const height = 4_500_000
	a, b := lndtest.ChanPoint(1), lndtest.ChanPoint(2)
	c.srv.SetChain(height, func(h uint32) time.Time {
		if h == 100 {
			return time.Unix(0, 0)
		}
		return t0
	})
	c.srv.OpenChannel(a, lndtest.PeerKey(1), scid(100, 1, 0))
	c.srv.OpenChannel(b, lndtest.PeerKey(2), scid(200, 1, 0))
	c.cfg.Conn.MacaroonPath = c.srv.Macaroon(t, blockPerms...)
	store := memory.New()
	synced := make(chan error, 10)
	mon := coretest.StartMonitor(t, core.Config{
		Store:  store,
		Clock:  c.clock,
		Source: signalSource{src: c.newSource(), synced: synced},
		Logger: c.log,
	})
	select {
	case err := <-synced:
		require.NoError(t, err)
	case <-time.After(lndtest.WaitTimeout):
		require.FailNow(t, "no sync")
	}
	chA := channel(t, mon, a)
	require.Equal(t, "estimated", chA.OpenedAtSource)
	require.Equal(t, genesisTime, chA.OpenedAt.Time)
	require.Equal(t, int64(height-100), ageBlocks(chA))
	require.Len(t, c.log.lines("WRN", "before Bitcoin's first block"), 1)
	chB := channel(t, mon, b)
	require.Equal(t, "node", chB.OpenedAtSource)
	require.Equal(t, t0, chB.OpenedAt.Time)

	// The unusable header is not asked for again.
	n := c.srv.Calls("GetBlockHash")
	c.tick()
	select {
	case err := <-synced:
		require.NoError(t, err)
	case <-time.After(lndtest.WaitTimeout):
		require.FailNow(t, "no sync")
	}
	require.Equal(t, n, c.srv.Calls("GetBlockHash"))
	require.Len(t, c.log.lines("WRN", "before Bitcoin's first block"), 1)
}

// TestSourceOpenTimesHeaderFailure estimates the open times of a snapshot
// whose first header call fails, without asking again in that snapshot,
// and corrects them in place at the next one.
func TestSourceOpenTimesHeaderFailure(t *testing.T) {
	c := newOpenTimesCtx(t)
	c.srv.FailNext("GetBlockHash", status.Error(codes.DeadlineExceeded,
		"context deadline exceeded"))
	mon, sync, stop := c.run(blockPerms...)
	defer stop()

	require.Equal(t, 1, c.srv.Calls("GetBlockHash"), "asked once")
	require.Equal(t, "estimated", channel(t, mon, c.a).OpenedAtSource)
	require.Equal(t, "estimated", channel(t, mon, c.b).OpenedAtSource)

	c.tick()
	sync()
	r, err := mon.Report(context.Background(), core.ReportQuery{})
	require.NoError(t, err)
	require.Len(t, r.Channels, 3)
	a := channel(t, mon, c.a)
	require.Equal(t, "node", a.OpenedAtSource)
	require.Equal(t, steadyChain(tip-100), a.OpenedAt.Time)
	require.Equal(t, "node", channel(t, mon, c.b).OpenedAtSource)
}
