package core_test

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

// TestReportPeersOnly: a report of the peers only has the full report's
// peers and no channel.
func TestReportPeersOnly(t *testing.T) {
	tc := newTestCtx(t)
	tc.open(peerN(1), chanN(1))
	tc.open(peerN(2), chanN(2))
	tc.advance(time.Hour)
	tc.offline(peerN(2))
	tc.advance(time.Hour)

	full, err := tc.m.Report(tc.ctx, core.ReportQuery{Window: "1d"})
	require.NoError(t, err)
	require.Len(t, full.Channels, 2)
	peers, err := tc.m.Report(tc.ctx, core.ReportQuery{Window: "1d",
		PeersOnly: true})
	require.NoError(t, err)
	require.Empty(t, peers.Channels)
	require.NotNil(t, peers.Channels)
	require.Equal(t, full.Peers, peers.Peers)
}
