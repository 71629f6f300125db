package table

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

// TestWriteTable renders a report with a custom headline window.
func TestWriteTable(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewTestClock(t0)
	m := coretest.StartMonitor(t, core.Config{Store: memory.New(),
		Clock: clk})
	p, err := core.ParsePeerID("02" + strings.Repeat("ab", 32))
	require.NoError(t, err)
	cp, err := core.NewChannelPoint(strings.Repeat("cd", 32), 1)
	require.NoError(t, err)
	apply := func(typ core.EventType) {
		require.NoError(t, m.Apply(ctx, core.Event{Type: typ, Peer: p,
			Channel: cp}))
	}
	apply(core.PeerOnline)
	apply(core.ChannelOpened)
	clk.SetTime(t0.Add(2 * time.Hour))
	apply(core.PeerOffline)
	clk.SetTime(t0.Add(3 * time.Hour))
	rep, err := m.Report(ctx, core.ReportQuery{Window: "2h"})
	require.NoError(t, err)
	var sb strings.Builder
	require.NoError(t, Write(&sb, rep))
	out := sb.String()
	require.Contains(t, out, "UP 2h")
	require.Contains(t, out, "OUTAGE 2h")
	require.Contains(t, out, p.String()[:16])
	require.Contains(t, out, "offline")
	require.Contains(t, out, "66.7%") // lifetime: 2 h of 3 h
	require.Contains(t, out, "1h00m") // the outage so far
	require.NotContains(t, out, "opened before",
		"no note for seen channels")
}

// TestWriteTableMarksOlderChannels marks the ages of channels opened
// before the monitor saw them, and explains the marks once.
func TestWriteTableMarksOlderChannels(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewTestClock(t0)
	m := coretest.StartMonitor(t, core.Config{Store: memory.New(),
		Clock: clk})
	p, err := core.ParsePeerID("02" + strings.Repeat("ab", 32))
	require.NoError(t, err)
	point := func(i int) core.ChannelPoint {
		cp, err := core.NewChannelPoint(strings.Repeat("cd", 32),
			uint32(i))
		require.NoError(t, err)
		return cp
	}
	require.NoError(t, m.Sync(ctx, core.Snapshot{
		BlockHeight: 1000,
		Channels: []core.SnapshotChannel{{
			Point: point(0), Peer: p, FundingHeight: 700,
			OpenedAt:       t0.Add(-51 * 24 * time.Hour),
			OpenedAtSource: core.OpenedAtEstimated,
		}, {
			Point: point(1), Peer: p, FundingHeight: 900,
			OpenedAt:       t0.Add(-12 * 24 * time.Hour),
			OpenedAtSource: core.OpenedAtNode,
		}, {
			Point: point(2), Peer: p,
		}},
	}))
	rep, err := m.Report(ctx, core.ReportQuery{})
	require.NoError(t, err)
	var sb strings.Builder
	require.NoError(t, Write(&sb, rep))
	out := sb.String()
	require.Contains(t, out, " ~51d00h ")
	require.Contains(t, out, " 12d00h* ")
	require.Contains(t, out, " 0s ")
	require.True(t, strings.HasSuffix(out, "\n\n"+
		"* opened before the monitor saw it: age from the node's "+
		"record\n"+
		"~ opened before the monitor saw it: age estimated from the "+
		"funding block\n"), out)
}

func TestFormatAge(t *testing.T) {
	require.Equal(t, "~1d01h", FormatAge(90000, "estimated"))
	require.Equal(t, "1d01h*", FormatAge(90000, "node"))
	require.Equal(t, "1d01h", FormatAge(90000, "seen"))
	require.Equal(t, "42s", FormatAge(42, ""))
}

func TestFormatSeconds(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0s"}, {59, "59s"}, {60, "1m00s"}, {3725, "1h02m"},
		{90000, "1d01h"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, FormatSeconds(tt.in))
	}
}

func TestFormatRatio(t *testing.T) {
	half, whole := 0.5, 1.0
	require.Equal(t, "-", FormatRatio(nil))
	require.Equal(t, "50%", FormatRatio(&half))
	require.Equal(t, "100%", FormatRatio(&whole))
}
