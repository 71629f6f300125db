// Package storage opens the store backends by name and holds what they
// share: their sentinel errors and the check that keeps every peer's log
// free of holes and duplicates. The backends live in storage/memory,
// storage/badger (package badgerstore) and storage/postgres; the
// conformance suite they all run lives in storage/storagetest.
package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chanfitness/chanfitness/core"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/chanfitness/chanfitness/storage/postgres"
)

// Sentinel errors of every backend. Each is wrapped with what failed: the
// store's directory, and for ErrCorrupt the file and what is wrong.
var (
	// ErrClosed is returned by every call on a store after Close.
	ErrClosed = base.ErrClosed

	// ErrLogSeq is returned by Write when a batch's log run does not
	// start at the number of events already stored for its peer.
	ErrLogSeq = base.ErrLogSeq

	// ErrCorrupt is returned by Open (or Load) when a file of the store
	// is damaged or the history is shorter than what was acknowledged.
	// The error names the file and what is wrong, and says how to
	// restore the history from a backup.
	ErrCorrupt = base.ErrCorrupt

	// ErrNoSpace is returned by Open and Write when the file system of
	// the store's directory has less free space than the store keeps in
	// reserve. Nothing of the failed Write is applied; Write succeeds
	// again once there is space.
	ErrNoSpace = base.ErrNoSpace
)

// CheckLogs verifies that every log run in b starts where the peer's log
// ends: count returns the number of events stored for a peer, and runs of
// the same peer earlier in the batch count as stored. It returns an error
// wrapping ErrLogSeq that names the peer and both numbers.
func CheckLogs(b *core.Batch, count func(core.PeerID) uint64) error {
	return base.CheckLogs(b, count)
}

// Store kinds for Open.
const (
	KindBadger   = "badger"
	KindMemory   = "memory"
	KindPostgres = "postgres"
)

// Options configures the store Open returns. Zero fields take the
// backend's defaults; the memory store uses none of them.
type Options struct {
	// Logger receives the store's log lines; nil discards them.
	Logger core.Logger

	// GCInterval is how often the badger store collects garbage.
	GCInterval time.Duration

	// DSN is the PostgreSQL store's connection string (see
	// postgres.Options); its password never appears in an error.
	DSN string

	// Node is the public key of the node whose history the PostgreSQL
	// store keeps, as the node itself gives it.
	Node core.PeerID
}

// Open opens the store of the given kind: KindBadger in dir (created if
// needed), KindMemory (dir unused) or KindPostgres (opts.DSN and
// opts.Node; dir unused). Another kind fails with an error naming it.
func Open(kind, dir string, opts Options) (core.Store, error) {
	switch kind {
	case KindPostgres:
		if opts.DSN == "" {
			return nil, errors.New("postgres store: no connection " +
				"string (DSN) given")
		}
		st, err := postgres.Open(context.Background(), postgres.Options{
			DSN:    opts.DSN,
			Node:   opts.Node,
			Logger: opts.Logger,
		})
		if err != nil {
			return nil, err
		}
		return st, nil
	case KindMemory:
		return memory.New(), nil
	case KindBadger:
		st, err := badgerstore.Open(dir, badgerstore.Options{
			Logger:     opts.Logger,
			GCInterval: opts.GCInterval,
		})
		if err != nil {
			// Not a typed nil in the interface.
			return nil, err
		}
		return st, nil
	}
	return nil, fmt.Errorf("store kind %q: want %s, %s or %s", kind,
		KindBadger, KindMemory, KindPostgres)
}

// Restore rebuilds the badger store in dir from a backup, for the restore
// command of both front ends: from names the backup file, or is empty for
// the newest intact backup beside the store. The store must not be open
// (its node stopped); the history after the backup was taken is lost and
// counts as unmonitored. Restore returns a sentence saying what it
// restored.
func Restore(dir, from string) (string, error) {
	bk, err := badgerstore.Restore(dir, from)
	if err != nil {
		return "", err
	}
	events := 0
	for _, l := range bk.State.Logs {
		events += len(l.Events)
	}
	return fmt.Sprintf("restored the history in %s from %s, taken %s: "+
		"%d channels, %d peers, %d events; the time since the backup "+
		"was taken will count as unmonitored", dir, bk.Path,
		bk.Taken.UTC().Format(time.RFC3339), len(bk.State.Channels),
		len(bk.State.Peers), events), nil
}
