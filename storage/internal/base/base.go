// Package base holds what the store backends share: their sentinel
// errors (package storage exports them) and the check that keeps every
// peer's log free of holes and duplicates.
package base

import (
	"errors"
	"fmt"

	"github.com/chanfitness/chanfitness/core"
)

// The sentinels; package storage documents them.
var (
	ErrClosed  = errors.New("store closed")
	ErrLogSeq  = errors.New("log sequence mismatch")
	ErrCorrupt = errors.New("corrupt store")
	ErrNoSpace = errors.New("no space left")
)

// smallLogs is the number of log runs per batch up to which CheckLogs
// looks back through the batch instead of building a map.
const smallLogs = 8

// CheckLogs verifies that every log run in b starts where the peer's log
// ends: count returns the number of events stored for a peer, and runs of
// the same peer earlier in the batch count as stored. It returns an error
// wrapping ErrLogSeq that names the peer and both numbers.
func CheckLogs(b *core.Batch, count func(core.PeerID) uint64) error {
	if len(b.Logs) <= smallLogs {
		for i := range b.Logs {
			l := &b.Logs[i]
			want := count(l.Peer)
			for j := 0; j < i; j++ {
				if b.Logs[j].Peer == l.Peer {
					want += uint64(len(b.Logs[j].Events))
				}
			}
			if l.Seq != want {
				return seqError(l, want)
			}
		}
		return nil
	}

	next := make(map[core.PeerID]uint64, len(b.Logs))
	for i := range b.Logs {
		l := &b.Logs[i]
		want, ok := next[l.Peer]
		if !ok {
			want = count(l.Peer)
		}
		if l.Seq != want {
			return seqError(l, want)
		}
		next[l.Peer] = want + uint64(len(l.Events))
	}
	return nil
}

func seqError(l *core.PeerLog, want uint64) error {
	return fmt.Errorf("%w: log of peer %v: batch starts at seq %d, "+
		"store holds %d events", ErrLogSeq, l.Peer, l.Seq, want)
}
