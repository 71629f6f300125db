package core_test

import (
	"math/rand"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

// seg is a segment relative to t0, for comparing.
type seg struct {
	start, end time.Duration
	state      string
	flaps      int
}

func segsOf(pt core.PeerTimeline) []seg {
	var out []seg
	for _, s := range pt.Segments {
		out = append(out, seg{s.Start.Sub(t0), s.End.Sub(t0), s.State,
			s.Flaps})
	}
	return out
}

// TestTimelineSegments draws a peer through an outage, a restart of the
// monitor and the close of its only channel: online, offline and
// unmonitored runs at their exact times, and nothing once it has no
// channel.
func TestTimelineSegments(t *testing.T) {
	tc := newTestCtx(t)
	p := peerN(1)
	tc.open(p, chanN(1))
	tc.advance(2 * time.Hour)
	tc.offline(p)
	tc.advance(3 * time.Hour)
	tc.online(p)
	tc.advance(time.Hour)
	tc.restart(4 * time.Hour)
	tc.advance(5 * time.Hour)
	tc.close(p, chanN(1))
	tc.advance(2 * time.Hour)

	tl, err := tc.m.Timeline(tc.ctx, core.TimelineQuery{Outages: 5})
	require.NoError(t, err)
	require.Equal(t, core.WindowLifetime, tl.Window)
	require.Equal(t, t0, tl.Start.Time)
	require.Equal(t, t0.Add(17*time.Hour), tl.End.Time)
	require.Len(t, tl.Peers, 1)
	pt := tl.Peers[0]
	require.Equal(t, p.String(), pt.PeerID)
	h := time.Hour
	require.Equal(t, []seg{
		{0, 2 * h, core.SegmentOnline, 0},
		{2 * h, 5 * h, core.SegmentOffline, 0},
		{5 * h, 6 * h, core.SegmentOnline, 0},
		{6 * h, 10 * h, core.SegmentUnmonitored, 0},
		{10 * h, 15 * h, core.SegmentOnline, 0},
	}, segsOf(pt))
	require.Len(t, pt.Channels, 1)
	require.Equal(t, chanN(1).String(), pt.Channels[0].ChannelPoint)
	require.Equal(t, t0, pt.Channels[0].OpenedAt.Time)
	require.Equal(t, t0.Add(15*h), pt.Channels[0].ClosedAt.Time)
	require.Equal(t, 1, pt.OutageCount)
	require.Equal(t, []core.Outage{{Start: core.Time{Time: t0.Add(2 * h)},
		End: core.Time{Time: t0.Add(5 * h)}}}, pt.Outages)

	// A 7-hour window starts inside the unmonitored run.
	tl, err = tc.m.Timeline(tc.ctx, core.TimelineQuery{Window: "7h"})
	require.NoError(t, err)
	require.Equal(t, []seg{
		{10 * h, 15 * h, core.SegmentOnline, 0},
	}, segsOf(tl.Peers[0]))
	tl, err = tc.m.Timeline(tc.ctx, core.TimelineQuery{Window: "9h"})
	require.NoError(t, err)
	require.Equal(t, []seg{
		{8 * h, 10 * h, core.SegmentUnmonitored, 0},
		{10 * h, 15 * h, core.SegmentOnline, 0},
	}, segsOf(tl.Peers[0]))
}

// TestTimelineUnstable merges an hour of flapping every minute into one
// unstable segment at a resolution of about two hours, counting its flaps,
// and keeps the long runs around it exact, and a single short outage
// between long runs as an outage. The ongoing outage at the end is listed
// as ongoing.
func TestTimelineUnstable(t *testing.T) {
	tc := newTestCtx(t)
	p := peerN(1)
	tc.open(p, chanN(1))
	tc.advance(10 * time.Hour)
	for i := range 60 {
		tc.advance(time.Minute)
		if i%2 == 0 {
			tc.offline(p)
		} else {
			tc.online(p)
		}
	}
	tc.advance(5 * time.Hour)
	tc.offline(p)
	tc.advance(30 * time.Minute)
	tc.online(p)
	tc.advance(5 * time.Hour)
	tc.offline(p)
	tc.advance(time.Hour)

	tl, err := tc.m.Timeline(tc.ctx, core.TimelineQuery{
		MaxSegments: 20, Outages: 2})
	require.NoError(t, err)
	require.Equal(t, 22*time.Hour/10+3*time.Minute, tl.Resolution)
	h, m := time.Hour, time.Minute
	require.Equal(t, []seg{
		{0, 10*h + m, core.SegmentOnline, 0},
		{10*h + m, 11 * h, core.SegmentUnstable, 59},
		{11 * h, 16 * h, core.SegmentOnline, 0},
		{16 * h, 16*h + 30*m, core.SegmentOffline, 0},
		{16*h + 30*m, 21*h + 30*m, core.SegmentOnline, 0},
		{21*h + 30*m, 22*h + 30*m, core.SegmentOffline, 0},
	}, segsOf(tl.Peers[0]))
	pt := tl.Peers[0]
	require.Equal(t, 32, pt.OutageCount)
	require.Len(t, pt.Outages, 2)
	require.True(t, pt.Outages[0].Ongoing)
	require.Equal(t, t0.Add(21*h+30*m), pt.Outages[0].Start.Time)
	require.Equal(t, t0.Add(16*h), pt.Outages[1].Start.Time)
	require.False(t, pt.Outages[1].Ongoing)
}

// TestTimelineRandom checks random histories against the window figures:
// segments are contiguous, at most the bound, and each online or offline
// one holds only its state.
func TestTimelineRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	tc := newTestCtx(t)
	p := peerN(1)
	tc.open(p, chanN(1))
	for range 3000 {
		// Mostly short runs, some long ones.
		d := time.Duration(rng.Intn(600)+2) * time.Second
		if rng.Intn(20) == 0 {
			d = time.Duration(rng.Intn(48)+1) * time.Hour
		}
		tc.advance(d)
		if rng.Intn(2) == 0 {
			tc.offline(p)
		} else {
			tc.online(p)
		}
	}
	tc.advance(time.Hour)
	for _, w := range []string{"", "1d", "7d", "3h"} {
		for _, maxSeg := range []int{0, 2, 50} {
			tl, err := tc.m.Timeline(tc.ctx, core.TimelineQuery{
				Window: w, MaxSegments: maxSeg})
			require.NoError(t, err)
			segs := tl.Peers[0].Segments
			bound := maxSeg
			if bound == 0 {
				bound = core.MaxTimelineSegments
			}
			require.LessOrEqual(t, len(segs), bound+2)
			require.NotEmpty(t, segs)
			require.Equal(t, tl.End, segs[len(segs)-1].End)
			for i, s := range segs {
				require.True(t, s.End.After(s.Start.Time))
				if i > 0 {
					require.Equal(t, segs[i-1].End, s.Start)
					require.False(t, segs[i-1].State ==
						s.State && s.State !=
						core.SegmentUnstable)
				}
				pw, err := tc.m.PeerWindow(tc.ctx, p,
					s.Start.Time, s.End.Time)
				require.NoError(t, err)
				length := s.End.Sub(s.Start.Time)
				switch s.State {
				case core.SegmentOnline:
					require.Equal(t, length, pw.Uptime)
				case core.SegmentOffline:
					require.Zero(t, pw.Uptime)
					require.Equal(t, length, pw.Monitored)
				case core.SegmentUnstable:
					require.Positive(t, s.Flaps)
				}
			}
		}
	}
}

// TestTimelineHostile: bad windows and unknown peers are errors of their
// kind; a clock stepped back does not move the timeline's end back nor
// make a segment end before it starts; segment bounds out of range are
// brought into it.
func TestTimelineHostile(t *testing.T) {
	tc := newTestCtx(t)
	p := peerN(1)
	tc.open(p, chanN(1))
	tc.advance(2 * time.Hour)
	tc.offline(p)
	tc.advance(time.Hour)

	_, err := tc.m.Timeline(tc.ctx, core.TimelineQuery{Window: "1y"})
	require.ErrorIs(t, err, core.ErrBadInput)
	other := peerN(9)
	_, err = tc.m.Timeline(tc.ctx, core.TimelineQuery{Peer: &other})
	require.ErrorIs(t, err, core.ErrPeerNotFound)

	before, err := tc.m.Timeline(tc.ctx, core.TimelineQuery{})
	require.NoError(t, err)
	tc.advance(-2 * time.Hour)
	after, err := tc.m.Timeline(tc.ctx, core.TimelineQuery{
		MaxSegments: 1 << 30})
	require.NoError(t, err)
	require.False(t, after.End.Before(before.End.Time))
	require.Equal(t, segsOf(before.Peers[0]), segsOf(after.Peers[0]))
	require.Equal(t, 3*time.Hour/500, after.Resolution)
	for _, s := range after.Peers[0].Segments {
		require.True(t, s.End.After(s.Start.Time))
	}
	tiny, err := tc.m.Timeline(tc.ctx, core.TimelineQuery{MaxSegments: 1})
	require.NoError(t, err)
	require.Equal(t, 3*time.Hour, tiny.Resolution)
}
