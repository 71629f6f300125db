package cln

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// historyPage is how many records one listnetworkevents call asks for.
const historyPage = 5000

// historyTimeout bounds the reading of the node's history at start, so
// that a node with a very long one still gets init's reply in time; the
// history is then not used.
const historyTimeout = 20 * time.Second

// nodeHistory reads the node's own network history (listnetworkevents,
// Core Lightning v25.12 and later): complete since lightningd started,
// since before that the node's own down time cannot be told from it. ok
// is false on a node without it; the plugin then works as without.
func (s *source) nodeHistory(ctx context.Context) (core.History, bool) {
	hr, ok := s.rpc.(historyRPC)
	if !ok {
		return core.History{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, historyTimeout)
	defer cancel()
	started, err := hr.StartedAt(ctx)
	if err != nil {
		s.log.Infof("no start time from lightningd (%v): its network "+
			"history is not used", err)
		return core.History{}, false
	}
	// A start before Bitcoin's, or ahead of our clock (beyond the
	// hour core allows a node's clock), would claim records complete
	// over time lightningd did not record.
	if started.Year() < 2009 ||
		started.After(s.clock.Now().Add(time.Hour)) {

		s.log.Warnf("lightningd's start time %v (getlog created_at) "+
			"cannot be right: its network history is not used",
			started)
		return core.History{}, false
	}
	recs, err := s.readNetworkEvents(ctx, hr)
	if err != nil {
		s.log.Infof("no network history from lightningd (%v; it "+
			"needs v25.12 or later): time the plugin was not "+
			"running stays unmonitored", err)
		return core.History{}, false
	}
	s.history = true
	events, samples := s.convert(recs, started)
	s.log.Infof("lightningd's network history: %d records, complete "+
		"since it started at %v", len(recs), started)
	return core.History{From: started, Events: events,
		Samples: samples}, true
}

// readNetworkEvents reads the records after those read before (all of
// them again after a failed call, so that none is lost). Records
// of an index already read are dropped, and a page that brings no new
// index ends the read, so a node that ignores start cannot hold it in a
// loop or repeat its records.
func (s *source) readNetworkEvents(ctx context.Context,
	hr historyRPC) ([]networkEvent, error) {

	var all []networkEvent
	from := s.nextIndex
	for {
		page, err := hr.ListNetworkEvents(ctx, s.nextIndex, historyPage)
		if err != nil {
			// The pages read are read again next time.
			s.nextIndex = from
			return nil, err
		}
		next := s.nextIndex
		for _, e := range page {
			if e.CreatedIndex < s.nextIndex ||
				e.CreatedIndex == math.MaxUint64 {

				continue
			}
			all = append(all, e)
			next = max(next, e.CreatedIndex+1)
		}
		advanced := next > s.nextIndex
		s.nextIndex = next
		if len(page) < historyPage || !advanced {
			return all, nil
		}
	}
}

// convert turns records into peer events (those from from on, in time
// order) and samples. Records that cannot be used are counted in one
// warning.
func (s *source) convert(recs []networkEvent,
	from time.Time) ([]core.Event, []core.PeerSample) {

	var events []core.Event
	var samples []core.PeerSample
	bad := 0
	// Records are stamped in whole seconds.
	floor := from.Truncate(time.Second)
	for _, r := range recs {
		peer, err := core.ParsePeerID(r.PeerID)
		if err != nil {
			bad++
			continue
		}
		t, err := r.time()
		if err != nil {
			bad++
			continue
		}
		switch r.Type {
		case netConnect, netDisconnect:
			if from.IsZero() || t.Before(floor) {
				continue
			}
			typ := core.PeerOnline
			if r.Type == netDisconnect {
				typ = core.PeerOffline
			}
			events = append(events, core.Event{Type: typ,
				Peer: peer, Time: t})
		case netPing:
			if r.DurationNsec == nil ||
				*r.DurationNsec > uint64(time.Hour) {

				bad++
				continue
			}
			samples = append(samples, core.PeerSample{Peer: peer,
				Time: t, Kind: core.SamplePing,
				RTT: time.Duration(*r.DurationNsec)})
		case netConnectFail:
			samples = append(samples, core.PeerSample{Peer: peer,
				Time: t, Kind: core.SampleConnectFail})
		}
	}
	if bad > 0 {
		s.log.Warnf("lightningd's network history: %d records "+
			"unusable (bad peer id, time or round trip): skipped",
			bad)
	}
	slices.SortStableFunc(events, func(a, b core.Event) int {
		return a.Time.Compare(b.Time)
	})
	return dropRepeats(events), samples
}

// dropRepeats drops a peer event that repeats the peer's previous one in
// type and time: the node listing a record again, not a second event
// (which the monitor would count as a flap).
func dropRepeats(events []core.Event) []core.Event {
	last := make(map[core.PeerID]core.Event)
	kept := events[:0]
	for _, ev := range events {
		if prev, ok := last[ev.Peer]; ok && prev.Type == ev.Type &&
			prev.Time.Equal(ev.Time) {

			continue
		}
		last[ev.Peer] = ev
		kept = append(kept, ev)
	}
	return kept
}

// pollSamples reads the pings and failed connection attempts the node
// recorded since the last read and hands them to the monitor.
func (s *source) pollSamples(ctx context.Context) {
	hs, ok := s.sink.(core.HistorySink)
	if !s.history || !ok {
		return
	}
	recs, err := s.readNetworkEvents(s.rpcCtx, s.rpc.(historyRPC))
	switch {
	case errors.Is(err, context.Canceled):
		// lightningd announced its shutdown.
		s.log.Debugf("network history: %v", err)
		return
	case err != nil:
		s.log.Warnf("network history: %v (its new records are read "+
			"at the next reconcile)", err)
		return
	}
	_, samples := s.convert(recs, time.Time{})
	if len(samples) == 0 {
		return
	}
	err = hs.AddSamples(ctx, samples)
	if !s.noteUnwritten(err) && err != nil {
		s.log.Warnf("network history: %v", err)
	}
}
