package core

import (
	"slices"
	"sort"
)

// timeline is a peer's committed event log with prefix sums, so that the
// online and known time over any interval, and the longest outage in it,
// cost O(log n) whatever the length of the history.
//
// The state at time t is the state of the last event at or before t, and
// unknown before the first event. Repeated states therefore keep the
// earliest time of their run, as lnd's online periods do.
type timeline struct {
	times    []int64 // event times, unix ns, non-decreasing
	states   []State
	cumOn    []int64 // online ns from times[0] to times[i]
	cumKnown []int64 // online or offline ns from times[0] to times[i]

	// cumFlips counts the flips among events 0..i: an online or offline
	// event whose state differs from the last such state before it.
	// lastKnown is the state of the newest online or offline event.
	cumFlips  []uint32
	lastKnown State

	// Completed outages (maximal offline runs), as event indices: the
	// run's first offline event and the event that ended it.
	outStart []uint32
	outEnd   []uint32

	// runStart is the index of the first offline event of the current
	// offline run, or -1 when the last event is not offline.
	runStart int

	// maxTree is a max segment tree over outage lengths in blocks of
	// outBlock outages: level 0 has one entry per block.
	maxTree [][]int64
}

const outBlock = 16

func newTimeline() *timeline {
	return &timeline{runStart: -1, lastKnown: StateUnknown}
}

// reserve makes room for n more events.
func (tl *timeline) reserve(n int) {
	tl.times = slices.Grow(tl.times, n)
	tl.states = slices.Grow(tl.states, n)
	tl.cumOn = slices.Grow(tl.cumOn, n)
	tl.cumKnown = slices.Grow(tl.cumKnown, n)
	tl.cumFlips = slices.Grow(tl.cumFlips, n)
}

// len returns the number of committed events.
func (tl *timeline) len() int {
	return len(tl.times)
}

// last returns the newest committed event (ok false when empty).
func (tl *timeline) last() (int64, State, bool) {
	n := len(tl.times)
	if n == 0 {
		return 0, StateUnknown, false
	}
	return tl.times[n-1], tl.states[n-1], true
}

// append commits an event. t must not be before the last event.
func (tl *timeline) append(t int64, s State) {
	n := len(tl.times)
	var on, known int64
	if n > 0 {
		prevT, prevS := tl.times[n-1], tl.states[n-1]
		on, known = tl.cumOn[n-1], tl.cumKnown[n-1]
		if prevS == StateOnline {
			on += t - prevT
		}
		if prevS != StateUnknown {
			known += t - prevT
		}
	}
	tl.times = append(tl.times, t)
	tl.states = append(tl.states, s)
	tl.cumOn = append(tl.cumOn, on)
	tl.cumKnown = append(tl.cumKnown, known)
	var flips uint32
	if n > 0 {
		flips = tl.cumFlips[n-1]
	}
	if s != StateUnknown {
		if tl.lastKnown != StateUnknown && s != tl.lastKnown {
			flips++
		}
		tl.lastKnown = s
	}
	tl.cumFlips = append(tl.cumFlips, flips)

	switch {
	case s == StateOffline && tl.runStart < 0:
		tl.runStart = n
	case s != StateOffline && tl.runStart >= 0:
		tl.outStart = append(tl.outStart, uint32(tl.runStart))
		tl.outEnd = append(tl.outEnd, uint32(n))
		tl.runStart = -1
		k := len(tl.outEnd) - 1
		tl.treeSet(k/outBlock, tl.outageLen(k))
	}
}

// outageLen is the length of completed outage k.
func (tl *timeline) outageLen(k int) int64 {
	return tl.times[tl.outEnd[k]] - tl.times[tl.outStart[k]]
}

// treeSet raises block b's maximum to v and recomputes its ancestors.
func (tl *timeline) treeSet(b int, v int64) {
	if len(tl.maxTree) == 0 {
		tl.maxTree = append(tl.maxTree, nil)
	}
	row := tl.maxTree[0]
	for len(row) <= b {
		row = append(row, 0)
	}
	row[b] = max(row[b], v)
	tl.maxTree[0] = row
	for lvl := 1; len(tl.maxTree[lvl-1]) > 1; lvl++ {
		if lvl == len(tl.maxTree) {
			tl.maxTree = append(tl.maxTree, nil)
		}
		below := tl.maxTree[lvl-1]
		b /= 2
		row := tl.maxTree[lvl]
		for len(row) <= b {
			row = append(row, 0)
		}
		m := below[2*b]
		if 2*b+1 < len(below) {
			m = max(m, below[2*b+1])
		}
		row[b] = m
		tl.maxTree[lvl] = row
	}
}

// treeMax returns the largest outage length among blocks [lo, hi).
func (tl *timeline) treeMax(lo, hi int) int64 {
	var best int64
	for lvl := 0; lvl < len(tl.maxTree) && lo < hi; lvl++ {
		row := tl.maxTree[lvl]
		if hi > len(row) {
			hi = len(row)
		}
		if lo&1 == 1 && lo < hi {
			best = max(best, row[lo])
			lo++
		}
		if hi&1 == 1 && lo < hi {
			hi--
			best = max(best, row[hi])
		}
		lo /= 2
		hi /= 2
	}
	return best
}

// view is a timeline plus an optional staged event that queries treat as
// the newest event, and the query's "now", past which nothing counts.
type view struct {
	tl        *timeline
	staged    bool
	stagedT   int64
	stagedS   State
	now       int64
	hasEvents bool

	// cur is a hint for searches that move forward in time: an index
	// at or before the last one found (see segments.go).
	cur int
}

func (tl *timeline) view(hasStaged bool, staged ev64, now int64) view {
	v := view{tl: tl, now: now, hasEvents: tl != nil && tl.len() > 0}
	if hasStaged {
		v.staged = true
		v.stagedT = staged.t
		v.stagedS = staged.s
		v.hasEvents = true
	}
	return v
}

// cum returns the online and known time from the first event up to t.
func (v view) cum(t int64) (on, known int64) {
	tl := v.tl
	n := tl.len()
	if v.staged && t >= v.stagedT {
		on, known = v.cumCommitted(v.stagedT)
		d := t - v.stagedT
		if v.stagedS == StateOnline {
			on += d
		}
		if v.stagedS != StateUnknown {
			known += d
		}
		return on, known
	}
	if n == 0 {
		return 0, 0
	}
	return v.cumCommitted(t)
}

func (v view) cumCommitted(t int64) (on, known int64) {
	tl := v.tl
	// i: last event at or before t.
	i := sort.Search(len(tl.times), func(j int) bool {
		return tl.times[j] > t
	}) - 1
	if i < 0 {
		return 0, 0
	}
	on, known = tl.cumOn[i], tl.cumKnown[i]
	d := t - tl.times[i]
	switch tl.states[i] {
	case StateOnline:
		on += d
		known += d
	case StateOffline:
		known += d
	}
	return on, known
}

// span returns online and known time in [start, end], clipped to now.
func (v view) span(start, end int64) (on, known int64) {
	end = min(end, v.now)
	if !v.hasEvents || end <= start {
		return 0, 0
	}
	on1, k1 := v.cum(start)
	on2, k2 := v.cum(end)
	return on2 - on1, k2 - k1
}

// longestOutage returns the longest offline run within [start, end]
// (clipped to now), runs cut at the edges counting only their inside.
func (v view) longestOutage(start, end int64) int64 {
	end = min(end, v.now)
	if !v.hasEvents || end <= start {
		return 0
	}
	tl := v.tl
	clip := func(s, e int64) int64 {
		s, e = max(s, start), min(e, end)
		if e > s {
			return e - s
		}
		return 0
	}

	var best int64

	// Completed outages overlapping [start, end]: k in [lo, hi).
	ends := len(tl.outEnd)
	lo := sort.Search(ends, func(k int) bool {
		return tl.times[tl.outEnd[k]] > start
	})
	hi := sort.Search(ends, func(k int) bool {
		return tl.times[tl.outStart[k]] >= end
	})
	if lo < hi {
		best = clip(tl.times[tl.outStart[lo]], tl.times[tl.outEnd[lo]])
		if hi-1 > lo {
			last := hi - 1
			best = max(best, clip(tl.times[tl.outStart[last]],
				tl.times[tl.outEnd[last]]))
		}
		// Outages strictly between lo and hi-1 lie inside the window.
		a, b := lo+1, hi-1
		if a < b {
			// Partial blocks at both ends, whole blocks between.
			ba, bb := (a+outBlock-1)/outBlock, b/outBlock
			if ba >= bb {
				for k := a; k < b; k++ {
					best = max(best, tl.outageLen(k))
				}
			} else {
				for k := a; k < ba*outBlock; k++ {
					best = max(best, tl.outageLen(k))
				}
				for k := bb * outBlock; k < b; k++ {
					best = max(best, tl.outageLen(k))
				}
				best = max(best, tl.treeMax(ba, bb))
			}
		}
	}

	// The outage still open among committed events, possibly ended (or
	// continued) by the staged event.
	if tl.runStart >= 0 {
		s := tl.times[tl.runStart]
		e := v.now
		if v.staged && v.stagedS != StateOffline {
			e = v.stagedT
		}
		best = max(best, clip(s, e))
	} else if v.staged && v.stagedS == StateOffline {
		best = max(best, clip(v.stagedT, v.now))
	}
	return best
}
