// Package memory is an in-memory core.Store for tests, demos and
// benchmarks. Nothing survives the process.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
)

// peerEntry is everything kept of one peer. The record's Staged pointer is
// always nil here; the staged event lives by value in staged so that
// rewriting a peer allocates nothing.
type peerEntry struct {
	rec       core.PeerRecord
	hasRec    bool
	staged    core.LogEvent
	hasStaged bool
	log       []core.LogEvent
}

// Store is an in-memory core.Store. It is safe for concurrent use.
type Store struct {
	mu       sync.Mutex
	closed   bool
	meta     core.Meta
	gaps     []core.Gap
	peers    map[core.PeerID]*peerEntry
	channels map[core.ChannelPoint]*core.ChannelRecord
	alerts   map[string]core.AlertRecord
	samples  []core.PeerSample
	filled   []core.FilledSpan

	// cut is the latest sample cut written: Load returns no sample
	// older, even one written after it.
	cut time.Time
}

var _ core.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		peers:    make(map[core.PeerID]*peerEntry),
		channels: make(map[core.ChannelPoint]*core.ChannelRecord),
		alerts:   make(map[string]core.AlertRecord),
	}
}

// Load returns a deep copy of everything stored. Peers, channels and logs
// are ordered by key (peer id bytes; txid bytes, then output index).
func (s *Store) Load(ctx context.Context) (*core.StoredState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("load: %w", base.ErrClosed)
	}

	st := &core.StoredState{
		Meta:    s.meta,
		Gaps:    slices.Clone(s.gaps),
		Samples: slices.Clone(s.samples),
		Filled:  slices.Clone(s.filled),
	}
	slices.SortStableFunc(st.Samples, func(a, b core.PeerSample) int {
		return a.Time.Compare(b.Time)
	})

	ids := slices.SortedFunc(maps.Keys(s.peers), func(a,
		b core.PeerID) int {

		return bytes.Compare(a[:], b[:])
	})
	for _, id := range ids {
		e := s.peers[id]
		if e.hasRec {
			rec := e.rec
			if e.hasStaged {
				ev := e.staged
				rec.Staged = &ev
			}
			st.Peers = append(st.Peers, rec)
		}
		if len(e.log) > 0 {
			st.Logs = append(st.Logs, core.PeerLog{
				Peer:   id,
				Events: slices.Clone(e.log),
			})
		}
	}

	points := slices.SortedFunc(maps.Keys(s.channels), compareChannels)
	st.Channels = make([]core.ChannelRecord, 0, len(points))
	for _, cp := range points {
		ch := *s.channels[cp]
		ch.Frozen = maps.Clone(ch.Frozen)
		st.Channels = append(st.Channels, ch)
	}
	for _, k := range slices.Sorted(maps.Keys(s.alerts)) {
		st.Alerts = append(st.Alerts, copyAlert(s.alerts[k]))
	}
	return st, nil
}

// Write applies b atomically: a log run that does not start where its
// peer's log ends rejects the whole batch. Nothing of b is retained.
func (s *Store) Write(ctx context.Context, b *core.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("write: %w", base.ErrClosed)
	}
	if err := base.CheckLogs(b, s.logLen); err != nil {
		return fmt.Errorf("write: %w", err)
	}

	if b.Meta != nil {
		s.meta = *b.Meta
	}
	s.gaps = append(s.gaps, b.Gaps...)
	for i := range b.Peers {
		rec := &b.Peers[i]
		e := s.entry(rec.Peer)
		e.rec = *rec
		e.rec.Staged = nil
		e.hasRec = true
		e.hasStaged = rec.Staged != nil
		if e.hasStaged {
			e.staged = *rec.Staged
		} else {
			e.staged = core.LogEvent{}
		}
	}
	for i := range b.Logs {
		l := &b.Logs[i]
		if len(l.Events) == 0 {
			continue
		}
		e := s.entry(l.Peer)
		e.log = append(e.log, l.Events...)
	}
	for i := range b.Channels {
		ch := b.Channels[i]
		ch.Frozen = maps.Clone(ch.Frozen)
		if old, ok := s.channels[ch.Point]; ok {
			*old = ch
		} else {
			s.channels[ch.Point] = &ch
		}
	}
	for _, cp := range b.DeleteChannels {
		delete(s.channels, cp)
	}
	for i := range b.Alerts {
		s.alerts[b.Alerts[i].Key] = copyAlert(b.Alerts[i])
	}
	for _, k := range b.DeleteAlerts {
		delete(s.alerts, k)
	}
	s.samples = append(s.samples, b.Samples...)
	if cut := b.DeleteSamplesBefore; !cut.IsZero() {
		s.cut = cut
	}
	if !s.cut.IsZero() {
		s.samples = slices.DeleteFunc(s.samples,
			func(p core.PeerSample) bool {
				return p.Time.Before(s.cut)
			})
	}
	s.filled = append(s.filled, b.Filled...)
	return nil
}

// Sync does nothing: an in-memory store has no stable storage.
func (s *Store) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("sync: %w", base.ErrClosed)
	}
	return nil
}

// Close drops the store's contents. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.gaps = nil
	s.peers = nil
	s.channels = nil
	s.alerts = nil
	s.samples = nil
	s.filled = nil
	return nil
}

// copyAlert returns a copy of a that shares no memory with it.
func copyAlert(a core.AlertRecord) core.AlertRecord {
	a.Body = slices.Clone(a.Body)
	a.Pending = slices.Clone(a.Pending)
	return a
}

func (s *Store) logLen(p core.PeerID) uint64 {
	if e, ok := s.peers[p]; ok {
		return uint64(len(e.log))
	}
	return 0
}

func (s *Store) entry(p core.PeerID) *peerEntry {
	e, ok := s.peers[p]
	if !ok {
		e = &peerEntry{}
		s.peers[p] = e
	}
	return e
}

func compareChannels(a, b core.ChannelPoint) int {
	if c := bytes.Compare(a.Txid[:], b.Txid[:]); c != 0 {
		return c
	}
	switch {
	case a.Index < b.Index:
		return -1
	case a.Index > b.Index:
		return 1
	}
	return 0
}
