package equivalence

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/lightningnetwork/lnd/clock"
)

// Fitness is the part of core.Monitor that the comparison drives.
type Fitness interface {
	// Apply applies one event stamped with the clock's time.
	Apply(ctx context.Context, ev core.Event) error

	// ChannelInfo returns a channel's lifetime and uptime.
	ChannelInfo(ctx context.Context, cp core.ChannelPoint) (
		core.ChannelInfo, error)

	// FlapCount returns a tracked peer's flap count and last flap.
	FlapCount(ctx context.Context, peer core.PeerID) (int, *time.Time,
		error)
}

var _ Fitness = (*core.Monitor)(nil)

// NewFitness starts a fresh implementation under comparison that reads
// time from clk; stop releases it.
type NewFitness func(clk clock.Clock) (f Fitness, stop func() error,
	err error)

// Mismatch is the first difference a run found.
type Mismatch struct {
	// Step is the index of the step after which the difference showed.
	Step int

	// What describes the difference.
	What string
}

// Error implements error.
func (m *Mismatch) Error() string {
	return fmt.Sprintf("after step %d: %s", m.Step+1, m.What)
}

// Start is the clock's time at the start of every run.
var Start = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Run replays steps through lnd and through a fresh implementation from
// newFit, both reading one test clock, and compares them after every step.
// It returns the first difference, or nil when there is none; err reports
// a failure to run at all (such as an invalid sequence).
func Run(ctx context.Context, steps []Step, newFit NewFitness) (
	*Mismatch, error) {

	if err := Valid(steps); err != nil {
		return nil, err
	}

	clk := clock.NewTestClock(Start)
	ref, err := NewLND(clk)
	if err != nil {
		return nil, err
	}
	defer ref.Stop()

	fit, stop, err := newFit(clk)
	if err != nil {
		return nil, err
	}
	defer stop()

	m := NewModel()
	for i, s := range steps {
		if err := m.Apply(s); err != nil {
			return nil, err
		}
		if s.Kind == Advance {
			clk.SetTime(clk.Now().Add(s.D))
		} else {
			ev := s.Event()
			if err := ref.Apply(ev); err != nil {
				return nil, fmt.Errorf("step %d %v: %w", i+1, s,
					err)
			}
			if err := fit.Apply(ctx, ev); err != nil {
				return &Mismatch{Step: i, What: fmt.Sprintf(
					"ours: apply %v: %v", s, err)}, nil
			}
		}
		what, err := compare(ctx, m, ref, fit)
		if err != nil {
			return nil, fmt.Errorf("step %d %v: %w", i+1, s, err)
		}
		if what != "" {
			return &Mismatch{Step: i, What: what}, nil
		}
	}
	return nil, nil
}

// compare checks every channel and every peer the model knows and returns
// the first difference ("" when there is none). err reports a failure of
// the lnd side.
func compare(ctx context.Context, m *Model, ref *LND, fit Fitness) (
	string, error) {

	for p := 0; p < m.Peers; p++ {
		what, err := comparePeer(ctx, m, p, ref, fit)
		if what != "" || err != nil {
			return what, err
		}
	}
	for _, r := range m.Order {
		what := compareChan(ctx, r, m.Chans[r], ref, fit)
		if what != "" {
			return what, nil
		}
	}
	return "", nil
}

func comparePeer(ctx context.Context, m *Model, p int, ref *LND,
	fit Fitness) (string, error) {

	id := PeerID(p)
	ln, llast, err := ref.FlapCount(id)
	if err != nil {
		return "", err
	}
	on, olast, oerr := fit.FlapCount(ctx, id)

	if !m.Tracked[p] {
		// lnd falls back to its flap-count store for peers it does
		// not track; core does not know them.
		switch {
		case ln != 0 || llast != nil:
			return fmt.Sprintf("untracked peer p%d: lnd flap count "+
				"%d, last flap %v", p, ln, fmtTime(llast)), nil
		case !errors.Is(oerr, core.ErrPeerNotFound):
			return fmt.Sprintf("untracked peer p%d: ours flap "+
				"count %d, last flap %v, error %v; want "+
				"ErrPeerNotFound", p, on, fmtTime(olast),
				oerr), nil
		}
		return "", nil
	}

	switch {
	case oerr != nil:
		return fmt.Sprintf("peer p%d flap count: lnd %d, ours error "+
			"%v", p, ln, oerr), nil
	case ln != on:
		return fmt.Sprintf("peer p%d flap count: lnd %d, ours %d", p,
			ln, on), nil
	case !sameTime(llast, olast):
		return fmt.Sprintf("peer p%d last flap: lnd %v, ours %v", p,
			fmtTime(llast), fmtTime(olast)), nil
	}
	return "", nil
}

func compareChan(ctx context.Context, r ChanRef, st ChanState, ref *LND,
	fit Fitness) string {

	name := chanName(r.Peer, r.Chan)
	cp := ChannelPoint(r.Peer, r.Chan)
	lLife, lUp, lerr := ref.ChannelInfo(PeerID(r.Peer), cp)
	info, oerr := fit.ChannelInfo(ctx, cp)

	if st != ChanOpen {
		switch {
		case !notFound(lerr):
			return fmt.Sprintf("%s channel %s: lnd lifetime %v, "+
				"uptime %v, error %v; want not found", st,
				name, lLife, lUp, lerr)
		case oerr == nil && info.Open:
			return fmt.Sprintf("%s channel %s: ours reports it "+
				"open", st, name)
		case oerr != nil && !notFound(oerr):
			return fmt.Sprintf("%s channel %s: ours error %v",
				st, name, oerr)
		}
		return ""
	}

	switch {
	case lerr != nil:
		return fmt.Sprintf("open channel %s: lnd error %v", name, lerr)
	case oerr != nil:
		return fmt.Sprintf("open channel %s: ours error %v", name, oerr)
	case !info.Open:
		return fmt.Sprintf("open channel %s: ours reports it closed",
			name)
	case lLife != info.Lifetime:
		return fmt.Sprintf("open channel %s lifetime: lnd %v, ours %v",
			name, lLife, info.Lifetime)
	case lUp != info.Uptime:
		return fmt.Sprintf("open channel %s uptime: lnd %v, ours %v",
			name, lUp, info.Uptime)
	}
	return ""
}

// String returns the state's name.
func (s ChanState) String() string {
	switch s {
	case ChanOpen:
		return "open"
	case ChanClosed:
		return "closed"
	case ChanUnknown:
		return "never opened"
	}
	return "ChanState(?)"
}

func notFound(err error) bool {
	return errors.Is(err, core.ErrChannelNotFound) ||
		errors.Is(err, core.ErrPeerNotFound)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "none"
	}
	return fmt.Sprintf("+%v", t.Sub(Start))
}

// maxShrinkRuns bounds the replays one Shrink makes.
const maxShrinkRuns = 3000

// Shrink returns the shortest sequence it finds that is still valid and
// still fails: it deletes chunks of steps, halving the chunk size down to
// single steps, and starts over while that removes anything. fails must
// hold for steps.
func Shrink(steps []Step, fails func([]Step) bool) []Step {
	cur := append([]Step(nil), steps...)
	runs := 0
	for {
		changed := false
		for chunk := len(cur) / 2; chunk >= 1; chunk /= 2 {
			for i := 0; i+chunk <= len(cur); {
				if runs >= maxShrinkRuns {
					return cur
				}
				cand := make([]Step, 0, len(cur)-chunk)
				cand = append(cand, cur[:i]...)
				cand = append(cand, cur[i+chunk:]...)
				if Valid(cand) != nil {
					i++
					continue
				}
				runs++
				if fails(cand) {
					cur = cand
					changed = true
					continue
				}
				i += chunk
			}
		}
		if !changed {
			return cur
		}
	}
}
