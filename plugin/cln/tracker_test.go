package cln

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

// fakeRPC serves fixed listings.
type fakeRPC struct {
	chans  []peerChannel
	closed []closedChannel
	peers  []peerInfo
	height uint32
	err    error
	calls  int
}

func (f *fakeRPC) GetInfo(context.Context) (nodeInfo, error) {
	return nodeInfo{BlockHeight: f.height}, f.err
}

func (f *fakeRPC) ListPeers(context.Context) ([]peerInfo, error) {
	f.calls++
	return f.peers, f.err
}

func (f *fakeRPC) ListPeerChannels(_ context.Context,
	peer *core.PeerID) ([]peerChannel, error) {

	f.calls++
	var out []peerChannel
	for _, c := range f.chans {
		if peer == nil || c.PeerID == peer.String() {
			out = append(out, c)
		}
	}
	return out, f.err
}

func (f *fakeRPC) ListClosedChannels(_ context.Context,
	peer *core.PeerID) ([]closedChannel, error) {

	f.calls++
	return f.closed, f.err
}

func (f *fakeRPC) Close() error { return nil }

type nopLog struct{}

func (nopLog) Debugf(string, ...any) {}
func (nopLog) Infof(string, ...any)  {}
func (nopLog) Warnf(string, ...any)  {}
func (nopLog) Errorf(string, ...any) {}

const (
	peerB   = "03" + twos
	txidOne = ones
	txidTwo = twos
)

func u32(v uint32) *uint32 { return &v }

// v1 returns the channel id of a v1 channel funded at txid:out.
func v1(t *testing.T, txid string, out uint32) string {
	cp, err := core.NewChannelPoint(txid, out)
	require.NoError(t, err)
	return v1ChannelID(cp)
}

func point(t *testing.T, txid string, out uint32) core.ChannelPoint {
	cp, err := core.NewChannelPoint(txid, out)
	require.NoError(t, err)
	return cp
}

func TestV1ChannelID(t *testing.T) {
	// BOLT 2: the funding txid in internal byte order (the reverse of
	// its display) with the output index xor-ed into the last two bytes.
	zeros := strings.Repeat("0", 60)
	tests := []struct {
		txid  string
		index uint32
		want  string
	}{
		{zeros + "0a0b", 0, "0b0a" + zeros},
		{zeros + "0a0b", 0x0304, "0b0a" + zeros[:56] + "0304"},
		{"ff" + zeros + "00", 1, "00" + zeros + "fe"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, v1ChannelID(point(t, tc.txid,
			tc.index)), "%s:%d", tc.txid, tc.index)
	}
}

func TestTrackerSnapshot(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rpc := &fakeRPC{
		chans: []peerChannel{
			{PeerID: peerA, State: "CHANNELD_NORMAL",
				ChannelID: v1(t, txidOne, 0), FundingTxid: txidOne,
				FundingOutnum: u32(0), ShortChannelID: "1x2x0"},
			{PeerID: peerA, State: "CHANNELD_SHUTTING_DOWN",
				ChannelID: v1(t, txidOne, 1), FundingTxid: txidOne,
				FundingOutnum: u32(1)},
			{PeerID: peerB, State: "ONCHAIN",
				ChannelID: v1(t, txidTwo, 0), FundingTxid: txidTwo,
				FundingOutnum: u32(0)},
			{PeerID: peerB, State: "OPENINGD",
				ChannelID: v1(t, txidTwo, 5)},
			{PeerID: peerB, State: "CHANNELD_AWAITING_LOCKIN",
				ChannelID: v1(t, txidTwo, 2), FundingTxid: txidTwo,
				FundingOutnum: u32(2)},
			{PeerID: "bad", State: "CHANNELD_NORMAL",
				ChannelID: v1(t, txidTwo, 3), FundingTxid: txidTwo,
				FundingOutnum: u32(3)},
		},
		peers: []peerInfo{{ID: peerA, Connected: true},
			{ID: peerB, Connected: false}, {ID: "bad", Connected: true}},
		height: 150,
	}
	tr := newTracker(rpc, nopLog{}, func() time.Time { return now }, nil)
	snap, err := tr.snapshot(context.Background())
	require.NoError(t, err)
	require.Equal(t, now, snap.Time)
	require.EqualValues(t, 150, snap.BlockHeight)
	a, _ := core.ParsePeerID(peerA)
	require.Equal(t, []core.PeerID{a}, snap.OnlinePeers)
	require.Equal(t, []core.SnapshotChannel{
		{Point: point(t, txidOne, 0), Peer: a, ShortChannelID: "1x2x0",
			FundingHeight: 1},
		{Point: point(t, txidOne, 1), Peer: a},
	}, snap.Channels)

	// The state changes that follow are no news for open channels.
	ev, err := tr.stateChanged(context.Background(), stateChange{
		Peer: a, ChannelID: v1(t, txidOne, 0),
		NewState: "CHANNELD_AWAITING_SPLICE"}, now)
	require.NoError(t, err)
	require.Nil(t, ev)
	ev, err = tr.stateChanged(context.Background(), stateChange{
		Peer: a, ChannelID: v1(t, txidOne, 1),
		NewState: "CLOSINGD_COMPLETE"}, now)
	require.NoError(t, err)
	require.Equal(t, &core.Event{Type: core.ChannelClosed, Peer: a,
		Channel: point(t, txidOne, 1), Time: now}, ev)

	// A listing failure is an error, not an empty node.
	rpc.err = errors.New("rpc down")
	_, err = tr.snapshot(context.Background())
	require.ErrorContains(t, err, "rpc down")
}

// TestTrackerSnapshotUnreadable: a listing with an entry that cannot be
// read (a garbled reply) keeps open the channels it does not list, since
// that entry may be one of them; a readable listing without them then
// closes them.
func TestTrackerSnapshotUnreadable(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	one := peerChannel{PeerID: peerA, State: "CHANNELD_NORMAL",
		ChannelID: v1(t, txidOne, 0), FundingTxid: txidOne,
		FundingOutnum: u32(0), ShortChannelID: "1x2x0"}
	two := peerChannel{PeerID: peerB, State: "CHANNELD_NORMAL",
		ChannelID: v1(t, txidTwo, 1), FundingTxid: txidTwo,
		FundingOutnum: u32(1)}
	rpc := &fakeRPC{chans: []peerChannel{one, two}}
	tr := newTracker(rpc, nopLog{}, func() time.Time { return now }, nil)
	snap, err := tr.snapshot(context.Background())
	require.NoError(t, err)
	require.Len(t, snap.Channels, 2)

	garbled := one
	garbled.ChannelID = "nothex"
	rpc.chans = []peerChannel{garbled}
	snap, err = tr.snapshot(context.Background())
	require.NoError(t, err)
	require.True(t, snap.Partial)
	a, _ := core.ParsePeerID(peerA)
	b, _ := core.ParsePeerID(peerB)
	require.ElementsMatch(t, []core.SnapshotChannel{
		{Point: point(t, txidOne, 0), Peer: a, ShortChannelID: "1x2x0",
			FundingHeight: 1},
		{Point: point(t, txidTwo, 1), Peer: b},
	}, snap.Channels)

	rpc.chans = []peerChannel{two}
	snap, err = tr.snapshot(context.Background())
	require.NoError(t, err)
	require.False(t, snap.Partial)
	require.Equal(t, []core.SnapshotChannel{
		{Point: point(t, txidTwo, 1), Peer: b},
	}, snap.Channels)

	// At start the tracker knows no channel: the snapshot says it is
	// partial, so that the monitor closes none it holds open.
	fresh := newTracker(&fakeRPC{chans: []peerChannel{garbled, two}},
		nopLog{}, func() time.Time { return now }, nil)
	snap, err = fresh.snapshot(context.Background())
	require.NoError(t, err)
	require.True(t, snap.Partial)
	require.Equal(t, []core.SnapshotChannel{
		{Point: point(t, txidTwo, 1), Peer: b},
	}, snap.Channels)
}

func TestTrackerStateChanged(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a, _ := core.ParsePeerID(peerA)
	cid := v1(t, txidOne, 2)
	listed := peerChannel{PeerID: peerA, State: "CHANNELD_NORMAL",
		ChannelID: cid, FundingTxid: txidOne, FundingOutnum: u32(2),
		ShortChannelID: "9x9x2"}
	opened := &core.Event{Type: core.ChannelOpened, Peer: a,
		Channel: point(t, txidOne, 2), ShortChannelID: "9x9x2",
		Time: at}
	closed := &core.Event{Type: core.ChannelClosed, Peer: a,
		Channel: point(t, txidOne, 2), Time: at}

	tests := []struct {
		name   string
		rpc    *fakeRPC
		states []string
		want   []*core.Event
		errs   []string
	}{{
		name: "open then close",
		rpc:  &fakeRPC{chans: []peerChannel{listed}},
		states: []string{"CHANNELD_AWAITING_LOCKIN", "CHANNELD_NORMAL",
			"CHANNELD_SHUTTING_DOWN", "CLOSINGD_COMPLETE",
			"FUNDING_SPEND_SEEN", "ONCHAIN", "CLOSED"},
		want: []*core.Event{nil, opened, nil, closed, nil, nil, nil},
	}, {
		name: "found among closed channels",
		rpc: &fakeRPC{closed: []closedChannel{{ChannelID: cid,
			FundingTxid: txidOne, FundingOutnum: u32(2),
			ShortChannelID: "9x9x2"}}},
		states: []string{"CHANNELD_NORMAL", "CLOSED"},
		want:   []*core.Event{opened, closed},
	}, {
		name:   "close of a channel never opened",
		rpc:    &fakeRPC{},
		states: []string{"DUALOPEND_OPEN_INIT", "CLOSED"},
		want:   []*core.Event{nil, nil},
	}, {
		name:   "not found",
		rpc:    &fakeRPC{},
		states: []string{"CHANNELD_NORMAL"},
		want:   []*core.Event{nil},
		errs: []string{"not listed by listpeerchannels nor " +
			"listclosedchannels"},
	}, {
		name:   "lookup fails",
		rpc:    &fakeRPC{err: errors.New("rpc down")},
		states: []string{"CHANNELD_NORMAL"},
		want:   []*core.Event{nil},
		errs:   []string{"look up channel " + cid + ": rpc down"},
	}, {
		name: "listed without funding",
		rpc: &fakeRPC{chans: []peerChannel{{PeerID: peerA,
			ChannelID: cid, State: "CHANNELD_NORMAL"}}},
		states: []string{"CHANNELD_NORMAL"},
		want:   []*core.Event{nil},
		errs:   []string{"without a funding outpoint"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(tc.rpc, nopLog{}, time.Now, nil)
			for i, s := range tc.states {
				ev, err := tr.stateChanged(ctx, stateChange{
					Peer: a, ChannelID: cid, NewState: s}, at)
				if i < len(tc.errs) && tc.errs[i] != "" {
					require.ErrorContains(t, err, tc.errs[i])
					continue
				}
				require.NoError(t, err, s)
				require.Equal(t, tc.want[i], ev, s)
			}
		})
	}
}

// TestListedReadiness reads from a listing whether a channel has been
// usable: CLN's close takes a channel awaiting lockin straight to
// CHANNELD_SHUTTING_DOWN, so an open phase alone does not tell.
func TestListedReadiness(t *testing.T) {
	change := func(old, new string) listedStateChange {
		return listedStateChange{OldState: old, NewState: new}
	}
	tests := []struct {
		name    string
		state   string
		history []listedStateChange
		want    readiness
	}{
		{"normal", "CHANNELD_NORMAL", nil, readyYes},
		{"splicing", "CHANNELD_AWAITING_SPLICE", nil, readyYes},
		{"awaiting lockin", "CHANNELD_AWAITING_LOCKIN", nil, readyNo},
		{"dual awaiting lockin", "DUALOPEND_AWAITING_LOCKIN", nil,
			readyNo},
		{"closing after normal", "CHANNELD_SHUTTING_DOWN",
			[]listedStateChange{
				change("CHANNELD_AWAITING_LOCKIN",
					"CHANNELD_NORMAL"),
				change("CHANNELD_NORMAL",
					"CHANNELD_SHUTTING_DOWN"),
			}, readyYes},
		{"closing during lockin", "CLOSINGD_SIGEXCHANGE",
			[]listedStateChange{
				change("CHANNELD_AWAITING_LOCKIN",
					"CHANNELD_SHUTTING_DOWN"),
				change("CHANNELD_SHUTTING_DOWN",
					"CLOSINGD_SIGEXCHANGE"),
			}, readyNo},
		{"closing, no history", "CHANNELD_SHUTTING_DOWN", nil,
			readyUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, listedReadiness(&peerChannel{
				State: tc.state, StateChanges: tc.history}))
		})
	}
}

// TestTrackerSpliceOrigin starts a tracker after a splice it did not see:
// the listed outpoint no longer gives the channel id, and the monitor's
// open channel whose outpoint does is kept as the channel's point.
func TestTrackerSpliceOrigin(t *testing.T) {
	a, _ := core.ParsePeerID(peerA)
	orig := point(t, txidOne, 1)
	cid := v1ChannelID(orig)
	rpc := &fakeRPC{chans: []peerChannel{{PeerID: peerA,
		State: "CHANNELD_NORMAL", ChannelID: cid, FundingTxid: txidTwo,
		FundingOutnum: u32(0)}}}
	tests := []struct {
		name  string
		known knownChannels
		want  core.ChannelPoint
	}{
		{"spliced while down", func(context.Context,
			core.PeerID) ([]core.ChannelPoint, error) {

			return []core.ChannelPoint{point(t, txidTwo, 7), orig}, nil
		}, orig},
		{"dual funded, not known", func(context.Context,
			core.PeerID) ([]core.ChannelPoint, error) {

			return []core.ChannelPoint{point(t, txidTwo, 7)}, nil
		}, point(t, txidTwo, 0)},
		{"monitor fails", func(context.Context,
			core.PeerID) ([]core.ChannelPoint, error) {

			return nil, errors.New("no")
		}, point(t, txidTwo, 0)},
		{"no monitor", nil, point(t, txidTwo, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(rpc, nopLog{}, time.Now, tc.known)
			snap, err := tr.snapshot(context.Background())
			require.NoError(t, err)
			require.Equal(t, []core.SnapshotChannel{{Point: tc.want,
				Peer: a}}, snap.Channels)
		})
	}
}

// TestListedOpenedAt reads the time a listed channel first reached
// CHANNELD_NORMAL from its state history, as listpeerchannels gives it.
// TestSCIDBlock reads the funding height out of a short channel id.
func TestSCIDBlock(t *testing.T) {
	tests := []struct {
		scid string
		want uint32
	}{
		{"871234x12x1", 871234},
		{"1x2x0", 1},
		{"", 0},
		{"871234", 0},
		{"x1x1", 0},
		{"-5x1x1", 0},
		{"4294967296x1x1", 0},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, scidBlock(tc.scid), tc.scid)
	}
}

func TestListedOpenedAt(t *testing.T) {
	at := time.Date(2026, 11, 2, 3, 4, 5, 145e6, time.UTC)
	change := func(ts, from, to string) listedStateChange {
		return listedStateChange{Timestamp: ts, OldState: from,
			NewState: to}
	}
	tests := []struct {
		name    string
		changes []listedStateChange
		want    time.Time
	}{
		{"lockin then normal", []listedStateChange{
			change("2026-11-02T03:00:00.000Z", "OPENINGD",
				"CHANNELD_AWAITING_LOCKIN"),
			change("2026-11-02T03:04:05.145Z",
				"CHANNELD_AWAITING_LOCKIN", "CHANNELD_NORMAL"),
			change("2026-11-03T00:00:00.000Z", "CHANNELD_NORMAL",
				"CHANNELD_AWAITING_SPLICE"),
			change("2026-11-03T00:01:00.000Z",
				"CHANNELD_AWAITING_SPLICE", "CHANNELD_NORMAL"),
		}, at},
		{"dual funded", []listedStateChange{
			change("2026-11-02T03:04:05.145Z",
				"DUALOPEND_AWAITING_LOCKIN", "CHANNELD_NORMAL"),
		}, at},
		{"not yet normal", []listedStateChange{
			change("2026-11-02T03:00:00.000Z", "OPENINGD",
				"CHANNELD_AWAITING_LOCKIN"),
		}, time.Time{}},
		{"no history", nil, time.Time{}},
		{"bad timestamp", []listedStateChange{
			change("yesterday", "CHANNELD_AWAITING_LOCKIN",
				"CHANNELD_NORMAL"),
		}, time.Time{}},
		{"zero timestamp", []listedStateChange{
			change("1970-01-01T00:00:00.000Z",
				"CHANNELD_AWAITING_LOCKIN", "CHANNELD_NORMAL"),
		}, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch := peerChannel{State: "CHANNELD_NORMAL",
				StateChanges: tc.changes}
			require.True(t, tc.want.Equal(listedOpenedAt(&ch)),
				"got %v", listedOpenedAt(&ch))
		})
	}
}
