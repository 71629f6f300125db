// Package core is the backend-agnostic heart of chanfitness: it turns peer
// online/offline notifications and channel opens/closes into per-channel
// lifetime and uptime and per-peer flap counts, with lnd's semantics, and
// keeps that history in a Store so that it survives restarts.
//
// docs/semantics.md says what it computes and where that differs from lnd.
//
// core knows no node and no database: each adapter is an EventSource the
// monitor runs, which feeds it through the Sink (Sync, Apply, NodeLost),
// and storage backends implement Store.
package core

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

var (
	// ErrPeerNotFound is returned for a peer the monitor does not track.
	ErrPeerNotFound = errors.New("peer not found")

	// ErrChannelNotFound is returned for a channel the monitor does not
	// know (or no longer keeps).
	ErrChannelNotFound = errors.New("channel not found")

	// ErrBadInput is wrapped by every parse error of an identifier or an
	// argument, so callers can tell bad input from internal failures.
	ErrBadInput = errors.New("bad input")

	// ErrNotStarted is returned by calls that need a started monitor.
	ErrNotStarted = errors.New("monitor not started")

	// ErrStopped is returned by calls made after Stop.
	ErrStopped = errors.New("monitor stopped")

	// ErrNotWritten is wrapped by the error of a call whose change is
	// applied in memory but not yet written to the store (the store
	// fails, or the caller stopped waiting). The monitor keeps the
	// change and writes it, in order, once the store accepts writes.
	ErrNotWritten = errors.New("kept in memory, not yet written to " +
		"the store")
)

// PeerID is a node's 33-byte compressed public key.
type PeerID [33]byte

// ParsePeerID parses a peer id from its 66-character hex form.
func ParsePeerID(s string) (PeerID, error) {
	var p PeerID
	if len(s) != 66 {
		return p, fmt.Errorf("%w: peer id %s: want 66 hex characters, "+
			"got %d", ErrBadInput, Quote(s), len(s))
	}
	if _, err := hex.Decode(p[:], []byte(s)); err != nil {
		return p, fmt.Errorf("%w: peer id %s: not hex", ErrBadInput,
			Quote(s))
	}
	if p[0] != 0x02 && p[0] != 0x03 {
		return p, fmt.Errorf("%w: peer id %s: not a compressed public "+
			"key (must start with 02 or 03)", ErrBadInput, Quote(s))
	}
	return p, nil
}

// String returns the lower-case hex form of the peer id.
func (p PeerID) String() string {
	return hex.EncodeToString(p[:])
}

// IsZero reports whether p is the zero value.
func (p PeerID) IsZero() bool {
	return p == PeerID{}
}

// MarshalText implements encoding.TextMarshaler.
func (p PeerID) MarshalText() ([]byte, error) {
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *PeerID) UnmarshalText(b []byte) error {
	v, err := ParsePeerID(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// ChannelPoint is a channel's funding outpoint, the key of a channel.
// Txid holds the transaction id in internal (little-endian) byte order, as
// wire.OutPoint does; its text form is the reversed display order that lnd
// and CLN print.
type ChannelPoint struct {
	Txid  [32]byte
	Index uint32
}

// ParseChannelPoint parses "<txid>:<index>" with the txid in display order.
func ParseChannelPoint(s string) (ChannelPoint, error) {
	var cp ChannelPoint
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return cp, fmt.Errorf("%w: channel point %s: missing "+
			"\":<index>\"", ErrBadInput, Quote(s))
	}
	txid, idx := s[:i], s[i+1:]
	if len(txid) != 64 {
		return cp, fmt.Errorf("%w: channel point %s: txid must be 64 "+
			"hex characters, got %d", ErrBadInput, Quote(s), len(txid))
	}
	var b [32]byte
	if _, err := hex.Decode(b[:], []byte(txid)); err != nil {
		return cp, fmt.Errorf("%w: channel point %s: txid is not hex",
			ErrBadInput, Quote(s))
	}
	n, err := strconv.ParseUint(idx, 10, 32)
	if err != nil || idx == "" || (len(idx) > 1 && idx[0] == '0') {
		return cp, fmt.Errorf("%w: channel point %s: index %s is not "+
			"a 32-bit decimal number", ErrBadInput, Quote(s), Quote(idx))
	}
	for j := 0; j < 32; j++ {
		cp.Txid[j] = b[31-j]
	}
	cp.Index = uint32(n)
	return cp, nil
}

// NewChannelPoint builds a channel point from a display-order txid and an
// output index.
func NewChannelPoint(txid string, index uint32) (ChannelPoint, error) {
	return ParseChannelPoint(txid + ":" + strconv.FormatUint(
		uint64(index), 10))
}

// TxidString returns the txid in display order (lower-case hex).
func (c ChannelPoint) TxidString() string {
	var b [32]byte
	for j := 0; j < 32; j++ {
		b[j] = c.Txid[31-j]
	}
	return hex.EncodeToString(b[:])
}

// String returns "<txid>:<index>" with the txid in display order.
func (c ChannelPoint) String() string {
	return c.TxidString() + ":" + strconv.FormatUint(uint64(c.Index), 10)
}

// MarshalText implements encoding.TextMarshaler.
func (c ChannelPoint) MarshalText() ([]byte, error) {
	return []byte(c.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *ChannelPoint) UnmarshalText(b []byte) error {
	v, err := ParseChannelPoint(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// EventType says what an Event reports.
type EventType uint8

const (
	// PeerOnline reports that a peer connected.
	PeerOnline EventType = iota + 1

	// PeerOffline reports that a peer disconnected.
	PeerOffline

	// ChannelOpened reports that a channel became usable.
	ChannelOpened

	// ChannelClosed reports that a channel was closed.
	ChannelClosed
)

// String returns the event type's name.
func (t EventType) String() string {
	switch t {
	case PeerOnline:
		return "PeerOnline"
	case PeerOffline:
		return "PeerOffline"
	case ChannelOpened:
		return "ChannelOpened"
	case ChannelClosed:
		return "ChannelClosed"
	}
	return "EventType(" + strconv.Itoa(int(t)) + ")"
}

// Event is one observation from the node.
type Event struct {
	// Type says what happened.
	Type EventType

	// Peer is the remote node concerned.
	Peer PeerID

	// Channel is the channel concerned (channel events only).
	Channel ChannelPoint

	// ShortChannelID optionally names the channel as
	// "<block>x<tx>x<out>" (ChannelOpened only; never a key).
	ShortChannelID string

	// Time is when the node observed the event; zero means the
	// monitor's clock now.
	Time time.Time
}

// Validate checks that the event is well formed.
func (e Event) Validate() error {
	switch e.Type {
	case PeerOnline, PeerOffline, ChannelOpened, ChannelClosed:
	default:
		return fmt.Errorf("%w: event type %d unknown", ErrBadInput,
			e.Type)
	}
	if e.Peer.IsZero() {
		return fmt.Errorf("%w: %v event without a peer", ErrBadInput,
			e.Type)
	}
	if (e.Type == ChannelOpened || e.Type == ChannelClosed) &&
		e.Channel == (ChannelPoint{}) {

		return fmt.Errorf("%w: %v event for peer %v without a channel "+
			"point", ErrBadInput, e.Type, e.Peer)
	}
	if !timeInRange(e.Time) {
		return fmt.Errorf("%w: %v event for peer %v: time %v out of "+
			"range", ErrBadInput, e.Type, e.Peer, e.Time)
	}
	return nil
}

// Times the monitor can hold: nanoseconds since 1970 in an int64.
var (
	minTime = time.Unix(0, 1)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeInRange reports whether t is zero or representable as nanoseconds
// since 1970 (years 1970 to 2262).
func timeInRange(t time.Time) bool {
	return t.IsZero() || (!t.Before(minTime) && !t.After(maxTime))
}

// FormatSCID returns the text form "<block>x<tx>x<out>" of a short
// channel id.
func FormatSCID(block, tx uint32, out uint16) string {
	return strconv.FormatUint(uint64(block), 10) + "x" +
		strconv.FormatUint(uint64(tx), 10) + "x" +
		strconv.FormatUint(uint64(out), 10)
}
