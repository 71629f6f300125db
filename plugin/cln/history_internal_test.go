package cln

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

// repeatingHistory is a node whose listnetworkevents ignores start: it
// answers every call with the same full page. After calls answers it
// fails, so that a reader that loops shows as an error.
type repeatingHistory struct {
	page  []networkEvent
	calls int
	fail  int // the call that fails, 0: none but after 10
}

func (h *repeatingHistory) StartedAt(context.Context) (time.Time, error) {
	return time.Unix(1700000000, 0), nil
}

func (h *repeatingHistory) ListNetworkEvents(_ context.Context, _ uint64,
	_ uint32) ([]networkEvent, error) {

	h.calls++
	if h.calls > 10 || h.calls == h.fail {
		return nil, errors.New("read again and again")
	}
	return h.page, nil
}

// TestReadNetworkEventsIgnoredStart: a node that ignores start, answering
// every call with the same full page, is read once, and a second read
// (the next reconcile) gives no record again; a record with the largest
// index is dropped rather than wrapping the next index to 0.
func TestReadNetworkEventsIgnoredStart(t *testing.T) {
	h := &repeatingHistory{}
	for i := range historyPage {
		h.page = append(h.page, networkEvent{
			CreatedIndex: uint64(i), Type: netConnect})
	}
	s := &source{}
	recs, err := s.readNetworkEvents(context.Background(), h)
	require.NoError(t, err)
	require.Len(t, recs, historyPage)
	require.Equal(t, uint64(historyPage), s.nextIndex)

	recs, err = s.readNetworkEvents(context.Background(), h)
	require.NoError(t, err)
	require.Empty(t, recs)
	require.Equal(t, uint64(historyPage), s.nextIndex)

	h.page[0].CreatedIndex = ^uint64(0)
	h.page = h.page[:1]
	recs, err = s.readNetworkEvents(context.Background(), h)
	require.NoError(t, err)
	require.Empty(t, recs)
	require.Equal(t, uint64(historyPage), s.nextIndex)
}

// TestConvertRepeats: records the node lists twice (the same peer, type
// and second under another index), out of order, give each event once,
// in time order, so that a repeat is not counted as a flap; events of
// the same second that alternate are all kept.
func TestConvertRepeats(t *testing.T) {
	peer := "02" + strings.Repeat("ab", 32)
	rec := func(i uint64, typ string, at int64) networkEvent {
		return networkEvent{CreatedIndex: i, PeerID: peer, Type: typ,
			Timestamp: json.Number(strconv.FormatInt(at, 10))}
	}
	s := &source{}
	events, _ := s.convert([]networkEvent{
		rec(1, netDisconnect, 1700000100),
		rec(2, netConnect, 1700000200),
		rec(3, netDisconnect, 1700000100),
		rec(4, netConnect, 1700000200),
		rec(5, netDisconnect, 1700000200),
		rec(6, netConnect, 1700000200),
	}, time.Unix(1700000000, 0))
	var got []string
	for _, ev := range events {
		got = append(got, fmt.Sprintf("%v@%d", ev.Type, ev.Time.Unix()))
	}
	require.Len(t, got, 4, "%v", got)
	require.Equal(t, int64(1700000100), events[0].Time.Unix())
	require.Equal(t, core.PeerOffline, events[0].Type)
	require.Equal(t, core.PeerOnline, events[3].Type)
}

// TestReadNetworkEventsFailedCall: a call that fails after a full page
// leaves the next index where it was, so the next read reads that page
// again rather than losing it.
func TestReadNetworkEventsFailedCall(t *testing.T) {
	h := &repeatingHistory{fail: 2}
	for i := range historyPage {
		h.page = append(h.page, networkEvent{
			CreatedIndex: uint64(i), Type: netPing})
	}
	s := &source{nextIndex: 0}
	_, err := s.readNetworkEvents(context.Background(), h)
	require.Error(t, err)
	require.Zero(t, s.nextIndex)
	recs, err := s.readNetworkEvents(context.Background(), h)
	require.NoError(t, err)
	require.Len(t, recs, historyPage)
}
