package equivalence

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/chanfitness/chanfitness/core"
)

// Kind says what a Step does.
type Kind uint8

const (
	// Advance moves the clock forward by Step.D.
	Advance Kind = iota + 1

	// Online notifies that peer Step.Peer connected.
	Online

	// Offline notifies that peer Step.Peer disconnected.
	Offline

	// Open notifies that channel Step.Chan of peer Step.Peer opened.
	Open

	// Close notifies that channel Step.Chan of peer Step.Peer closed.
	Close
)

// Step is one step of a generated sequence: a clock advance or one event.
// Peers and channels are numbered; PeerID and ChannelPoint give their ids.
type Step struct {
	Kind Kind
	Peer int
	Chan int
	D    time.Duration
}

// String renders the step as "advance 1.5s", "online p2" or "open p1/c3".
func (s Step) String() string {
	switch s.Kind {
	case Advance:
		return "advance " + s.D.String()
	case Online:
		return "online p" + strconv.Itoa(s.Peer)
	case Offline:
		return "offline p" + strconv.Itoa(s.Peer)
	case Open:
		return "open " + chanName(s.Peer, s.Chan)
	case Close:
		return "close " + chanName(s.Peer, s.Chan)
	}
	return "step(" + strconv.Itoa(int(s.Kind)) + ")"
}

// Event returns the core event of a step other than Advance, with a zero
// time (the clock's now).
func (s Step) Event() core.Event {
	ev := core.Event{Peer: PeerID(s.Peer)}
	switch s.Kind {
	case Online:
		ev.Type = core.PeerOnline
	case Offline:
		ev.Type = core.PeerOffline
	case Open:
		ev.Type = core.ChannelOpened
		ev.Channel = ChannelPoint(s.Peer, s.Chan)
	case Close:
		ev.Type = core.ChannelClosed
		ev.Channel = ChannelPoint(s.Peer, s.Chan)
	}
	return ev
}

// FormatSteps renders a sequence one numbered step a line.
func FormatSteps(steps []Step) string {
	var b strings.Builder
	for i, s := range steps {
		fmt.Fprintf(&b, "%5d  %v\n", i+1, s)
	}
	return b.String()
}

func chanName(peer, ch int) string {
	return "p" + strconv.Itoa(peer) + "/c" + strconv.Itoa(ch)
}

var (
	peerMu  sync.Mutex
	peerIDs = make(map[int]core.PeerID)
)

// PeerID returns the id of test peer i: the public key of a private key
// derived from i, so that lnd can parse it.
func PeerID(i int) core.PeerID {
	peerMu.Lock()
	defer peerMu.Unlock()
	if p, ok := peerIDs[i]; ok {
		return p
	}
	seed := sha256.Sum256([]byte("chanfitness equivalence peer " +
		strconv.Itoa(i)))
	_, pub := btcec.PrivKeyFromBytes(seed[:])
	var p core.PeerID
	copy(p[:], pub.SerializeCompressed())
	peerIDs[i] = p
	return p
}

// ChannelPoint returns the channel point of channel ch of test peer peer.
func ChannelPoint(peer, ch int) core.ChannelPoint {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(peer))
	binary.BigEndian.PutUint64(b[8:], uint64(ch))
	return core.ChannelPoint{
		Txid:  sha256.Sum256(b[:]),
		Index: uint32(ch % 3),
	}
}

// ChanState is what Model knows of a channel.
type ChanState uint8

const (
	// ChanOpen is an open channel.
	ChanOpen ChanState = iota + 1

	// ChanClosed is a channel that was open and closed.
	ChanClosed

	// ChanUnknown is a channel that was closed without ever being
	// opened (as after a restore from a static channel backup).
	ChanUnknown
)

// ChanRef names a channel of a test peer.
type ChanRef struct {
	Peer, Chan int
}

// Model follows a sequence the way both implementations must see it:
// which peers are tracked, their last notified state and each channel's
// state. It rejects the steps the generator never produces.
type Model struct {
	// Peers is one more than the highest peer number seen.
	Peers int

	// Tracked holds the peers that have had a channel.
	Tracked map[int]bool

	// Notified holds each peer's last notified state (true: online).
	Notified map[int]bool

	// Chans holds every channel a step named, in first-seen order in
	// Order.
	Chans map[ChanRef]ChanState
	Order []ChanRef

	// Flaps counts each tracked peer's notifications (without cooldown).
	Flaps map[int]int

	// next is one more than the highest channel number seen per peer.
	next map[int]int
}

// NewModel returns the model of an empty sequence.
func NewModel() *Model {
	return &Model{
		Tracked:  make(map[int]bool),
		Notified: make(map[int]bool),
		Chans:    make(map[ChanRef]ChanState),
		Flaps:    make(map[int]int),
		next:     make(map[int]int),
	}
}

// OpenCount returns how many channels of peer are open.
func (m *Model) OpenCount(peer int) int {
	n := 0
	for r, st := range m.Chans {
		if r.Peer == peer && st == ChanOpen {
			n++
		}
	}
	return n
}

// Apply advances the model by one step. It returns an error wrapping
// ErrInvalidSequence, and changes nothing, for:
//
//   - the first channel of a peer opened while the peer's last
//     notification said offline: lnd v0.21.1-beta seeds every new peer
//     monitor as online whatever the peer's state, where core uses the
//     peer's last known state (online when none was ever notified: the
//     peer must have been connected to open the channel; see
//     docs/semantics.md, "What is counted");
//   - a channel opened again after it closed: its funding outpoint is
//     spent, so this cannot happen on chain.
func (m *Model) Apply(s Step) error {
	if s.Peer < 0 || s.Chan < 0 {
		return fmt.Errorf("%w: step %v: negative number",
			ErrInvalidSequence, s)
	}
	if s.Kind != Advance && s.Peer >= m.Peers {
		m.Peers = s.Peer + 1
	}

	switch s.Kind {
	case Advance:
		if s.D < 0 {
			return fmt.Errorf("%w: step %v: negative advance",
				ErrInvalidSequence, s)
		}

	case Online, Offline:
		m.Notified[s.Peer] = s.Kind == Online
		if m.Tracked[s.Peer] {
			m.Flaps[s.Peer]++
		}

	case Open:
		r := ChanRef{s.Peer, s.Chan}
		st := m.Chans[r]
		if st == ChanClosed || st == ChanUnknown {
			return fmt.Errorf("%w: step %v: channel point reused "+
				"after close", ErrInvalidSequence, s)
		}
		if !m.Tracked[s.Peer] {
			if online, ok := m.Notified[s.Peer]; ok && !online {
				return fmt.Errorf("%w: step %v: first channel "+
					"of a peer last notified offline",
					ErrInvalidSequence, s)
			}
			m.Tracked[s.Peer] = true

			// Creating the peer monitor counts one flap.
			m.Flaps[s.Peer]++
		}
		m.setChan(r, ChanOpen)

	case Close:
		r := ChanRef{s.Peer, s.Chan}
		switch m.Chans[r] {
		case ChanOpen:
			m.setChan(r, ChanClosed)
		case 0:
			m.setChan(r, ChanUnknown)
		}

	default:
		return fmt.Errorf("%w: step %v: unknown kind",
			ErrInvalidSequence, s)
	}
	return nil
}

func (m *Model) setChan(r ChanRef, st ChanState) {
	if _, ok := m.Chans[r]; !ok {
		m.Order = append(m.Order, r)
	}
	m.Chans[r] = st
	if r.Chan >= m.next[r.Peer] {
		m.next[r.Peer] = r.Chan + 1
	}
}

// Valid reports whether the generator could have produced steps (see
// Model.Apply); it returns the first offending step's error.
func Valid(steps []Step) error {
	m := NewModel()
	for i, s := range steps {
		if err := m.Apply(s); err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	return nil
}
