package equivalence

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// GenConfig shapes a generated sequence.
type GenConfig struct {
	// Peers is the number of peers (at least 1).
	Peers int

	// Steps is the number of steps besides the storm.
	Steps int

	// MaxOpen caps the open channels per peer (default 4).
	MaxOpen int

	// StormFlaps, when positive, inserts at a random point a storm: this
	// many notifications of one tracked peer with an open channel, each
	// followed by a short advance close to the rate-limit spacings.
	StormFlaps int
}

// rateBoundaries are durations at which lnd's rules change: the rate-limit
// spacings and the cooldown period. Advances land on them exactly and one
// nanosecond either side.
var rateBoundaries = []time.Duration{
	time.Second, 5 * time.Second, 30 * time.Second, time.Minute,
	30 * time.Minute, time.Hour, 8 * time.Hour,
}

// generator builds one sequence.
type generator struct {
	rng   *rand.Rand
	cfg   GenConfig
	m     *Model
	steps []Step
}

// Generate returns a random valid sequence: notifications (with repeats),
// opens (with duplicates), closes (with closes of unknown and already
// closed channels) and clock advances from zero to more than a day,
// including bursts shorter than the rate-limit spacing and advances that
// land on lnd's boundaries exactly.
func Generate(rng *rand.Rand, cfg GenConfig) []Step {
	if cfg.Peers < 1 {
		cfg.Peers = 1
	}
	if cfg.MaxOpen < 1 {
		cfg.MaxOpen = 4
	}
	g := &generator{rng: rng, cfg: cfg, m: NewModel()}

	stormAt := -1
	if cfg.StormFlaps > 0 {
		stormAt = cfg.Steps/5 + rng.IntN(cfg.Steps*3/5+1)
	}
	for i := 0; i < cfg.Steps; i++ {
		if i == stormAt {
			g.storm()
		}
		g.step()
	}
	return g.steps
}

// emit appends s; s must be valid.
func (g *generator) emit(s Step) {
	if err := g.m.Apply(s); err != nil {
		panic(fmt.Sprintf("generator produced an invalid step: %v",
			err))
	}
	g.steps = append(g.steps, s)
}

func (g *generator) step() {
	p := g.rng.IntN(g.cfg.Peers)
	switch r := g.rng.IntN(100); {
	case r < 35:
		g.emit(Step{Kind: Advance, D: g.advance()})

	case r < 73:
		g.notify(p, 25)

	case r < 87:
		g.open(p)

	default:
		g.close(p)
	}
}

// notify emits a notification for p: the opposite of its last state, or
// with repeatPct percent chance the same state again.
func (g *generator) notify(p, repeatPct int) {
	online, ok := g.m.Notified[p]
	switch {
	case !ok:
		online = g.rng.IntN(2) == 0
	case g.rng.IntN(100) >= repeatPct:
		online = !online
	}
	k := Offline
	if online {
		k = Online
	}
	g.emit(Step{Kind: k, Peer: p})
}

func (g *generator) open(p int) {
	var open []int
	for _, r := range g.m.Order {
		if r.Peer == p && g.m.Chans[r] == ChanOpen {
			open = append(open, r.Chan)
		}
	}

	// A duplicate open of a channel that is open already.
	if len(open) > 0 && (len(open) >= g.cfg.MaxOpen ||
		g.rng.IntN(100) < 20) {

		g.emit(Step{Kind: Open, Peer: p, Chan: open[g.rng.IntN(
			len(open))]})
		return
	}

	// lnd seeds a new peer monitor as online: open a peer's first
	// channel only while the peer is not known offline (Model.Apply).
	g.onlineIfNew(p)
	g.emit(Step{Kind: Open, Peer: p, Chan: g.m.next[p]})
}

// onlineIfNew notifies p online if p is not tracked yet and was last
// notified offline, so that its first channel may open (see Model.Apply).
func (g *generator) onlineIfNew(p int) {
	if online, ok := g.m.Notified[p]; !g.m.Tracked[p] && ok && !online {
		g.emit(Step{Kind: Online, Peer: p})
	}
}

func (g *generator) close(p int) {
	var open, closed []int
	for _, r := range g.m.Order {
		if r.Peer != p {
			continue
		}
		switch g.m.Chans[r] {
		case ChanOpen:
			open = append(open, r.Chan)
		case ChanClosed, ChanUnknown:
			closed = append(closed, r.Chan)
		}
	}

	switch r := g.rng.IntN(100); {
	case r < 70 && len(open) > 0:
		g.emit(Step{Kind: Close, Peer: p, Chan: open[g.rng.IntN(
			len(open))]})

	case r < 85 && len(closed) > 0:
		g.emit(Step{Kind: Close, Peer: p, Chan: closed[g.rng.IntN(
			len(closed))]})

	default:
		// A channel that was never opened: it becomes unknown and is
		// never opened later.
		g.emit(Step{Kind: Close, Peer: p, Chan: g.m.next[p]})
	}
}

// advance draws a clock advance for the general mix.
func (g *generator) advance() time.Duration {
	r := g.rng
	switch x := r.IntN(100); {
	case x < 10:
		return 0
	case x < 35:
		return time.Duration(1 + r.Int64N(int64(time.Second)-1))
	case x < 50:
		return g.boundary()
	case x < 70:
		return time.Second + time.Duration(r.Int64N(int64(
			2*time.Minute)))
	case x < 88:
		return 2*time.Minute + time.Duration(r.Int64N(int64(
			7*time.Hour)))
	default:
		return 8*time.Hour + time.Duration(r.Int64N(int64(
			40*time.Hour)))
	}
}

// boundary returns one of rateBoundaries, exactly or one nanosecond off.
func (g *generator) boundary() time.Duration {
	d := rateBoundaries[g.rng.IntN(len(rateBoundaries))]
	return d + time.Duration(g.rng.IntN(3)-1)
}

// storm emits cfg.StormFlaps notifications of one peer that has an open
// channel, each followed by a short advance, so that its flap count
// crosses rate-limit tiers.
func (g *generator) storm() {
	p := g.rng.IntN(g.cfg.Peers)
	if g.m.OpenCount(p) == 0 {
		g.onlineIfNew(p)
		g.emit(Step{Kind: Open, Peer: p, Chan: g.m.next[p]})
	}
	for i := 0; i < g.cfg.StormFlaps; i++ {
		g.notify(p, 15)
		var d time.Duration
		switch x := g.rng.IntN(100); {
		case x < 10:
			d = 0
		case x < 40:
			d = time.Duration(g.rng.Int64N(int64(time.Second)))
		case x < 70:
			b := rateBoundaries[g.rng.IntN(4)]
			d = b + time.Duration(g.rng.IntN(3)-1)
		default:
			d = time.Duration(g.rng.Int64N(int64(90 * time.Second)))
		}
		g.emit(Step{Kind: Advance, D: d})
	}
}
