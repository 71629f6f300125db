package cln

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// repeatingHistory is a node whose listnetworkevents ignores start: it
// answers every call with the same full page. After calls answers it
// fails, so that a reader that loops shows as an error.
type repeatingHistory struct {
	page  []networkEvent
	calls int
}

func (h *repeatingHistory) StartedAt(context.Context) (time.Time, error) {
	return time.Unix(1700000000, 0), nil
}

func (h *repeatingHistory) ListNetworkEvents(_ context.Context, _ uint64,
	_ uint32) ([]networkEvent, error) {

	h.calls++
	if h.calls > 10 {
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
