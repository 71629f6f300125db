// Package badgerstore is a core.Store on disk, built on the badger key-value
// store (github.com/dgraph-io/badger/v4).
//
// Write appends the batch to a write-ahead log file in the store's
// directory with one write system call: once that returns, the batch is in
// the operating system's page cache and survives the process being killed.
// Batches are moved from that log into badger in large transactions when
// the log grows past Options.FlushBytes, on Sync, on Load and on Close;
// each move ends with badger's files synced to stable storage, after which
// the log is emptied. Open replays what the log holds. So Write costs one
// system call, Sync (which the monitor calls every second) bounds what an
// operating-system crash may lose, and a killed process loses nothing that
// Write accepted.
//
// Each peer's log is kept as segments of events under keys ordered by
// sequence number. Every move ends by packing the logs that have gathered
// many small segments into chunks of 1,024 events (each peer in its own
// transaction; packing never changes a log's content), so Load reads a
// few thousand values rather than millions.
package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	bdb "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/lightningnetwork/lnd/ticker"
)

var (
	// ErrLocked is returned by Open when another Store, in this process
	// or another one, has the directory open.
	ErrLocked = errors.New("locked by another process")

	// ErrSchema is returned by Open when the directory holds data of a
	// schema version this build does not read, or of no known version.
	ErrSchema = errors.New("unsupported schema")

	// ErrBatchTooLarge is returned by Write for a batch larger than one
	// badger transaction can hold.
	ErrBatchTooLarge = errors.New("batch too large")
)

// SchemaVersion is the version of the key layout and record formats this
// build writes and reads.
const SchemaVersion = 1

// Defaults for Options fields left zero.
const (
	DefaultGCInterval = 10 * time.Minute
	DefaultFlushBytes = 1 << 20
)

const (
	// dbDirName is the badger directory inside the store's directory.
	dbDirName = "db"

	// gcDiscardRatio is the share of stale data that makes value-log GC
	// rewrite a file; gcMaxRounds bounds the rewrites of one GC run.
	gcDiscardRatio = 0.5
	gcMaxRounds    = 16

	// maxBatchEntries and maxFrameBytes bound one batch, so that any
	// single batch fits in one badger transaction.
	maxBatchEntries = 50_000
	maxFrameBytes   = 4 << 20
)

// Options configures a Store.
type Options struct {
	// Logger receives the store's log lines and badger's own (badger's
	// informational lines at debug level); nil discards them. Nothing is
	// ever written to stdout or stderr.
	Logger core.Logger

	// GCInterval is how often badger's value-log garbage collection runs
	// (default 10 minutes).
	GCInterval time.Duration

	// GCTicker overrides the ticker built from GCInterval (tests use
	// ticker.NewForce). The store resumes and stops it.
	GCTicker ticker.Ticker

	// FlushBytes is the size of the write-ahead log at which Write moves
	// the logged batches into badger (default 1 MiB).
	FlushBytes int
}

// Store is a core.Store in a directory on disk. It is safe for concurrent
// use.
type Store struct {
	dir        string
	log        core.Logger
	db         *bdb.DB
	lock       *os.File
	wal        *wal
	flushBytes int
	gcTicker   ticker.Ticker
	quit       chan struct{}
	wg         sync.WaitGroup

	mu     sync.Mutex
	closed bool

	// broken, when set, fails every Write: the write-ahead log could not
	// be repaired after a failed write.
	broken error

	// enc is Write's encoding buffer, reused.
	enc encoder

	// pending holds the write-ahead log frames not yet moved into
	// badger; lsn is the sequence number of the last batch accepted and
	// applied that of the last one in badger.
	pending []byte
	lsn     uint64
	applied uint64

	// counts is the length of every peer's log counting pending
	// batches; countFn looks it up for base.CheckLogs.
	counts  map[core.PeerID]uint64
	countFn func(core.PeerID) uint64

	// gaps is the number of gaps in badger; logs is the layout of each
	// peer's log in badger.
	gaps uint64
	logs map[core.PeerID]*logState
}

var _ core.Store = (*Store)(nil)

// Open opens (creating it if needed) the store in dir. The directory gets
// mode 0700 and every file in it 0600. A directory another Store has open
// fails with an error wrapping ErrLocked that names it.
func Open(dir string, opts Options) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", dir, err)
	}
	if err := makePrivateDir(abs); err != nil {
		return nil, fmt.Errorf("open store %q: %w", abs, err)
	}
	lock, err := lockDir(abs)
	if err != nil {
		return nil, err
	}

	log := opts.Logger
	if log == nil {
		log = discardLogger{}
	}
	s := &Store{
		dir:        abs,
		log:        log,
		lock:       lock,
		flushBytes: opts.FlushBytes,
		quit:       make(chan struct{}),
		counts:     make(map[core.PeerID]uint64),
		logs:       make(map[core.PeerID]*logState),
	}
	s.countFn = s.count
	if s.flushBytes <= 0 {
		s.flushBytes = DefaultFlushBytes
	}

	if err := s.open(); err != nil {
		if s.wal != nil {
			_ = s.wal.close()
		}
		if s.db != nil {
			_ = s.db.Close()
		}
		_ = unlockDir(lock)
		return nil, fmt.Errorf("open store %q: %w", abs, err)
	}
	if err := fixModes(abs); err != nil {
		s.log.Warnf("store %q: %v", abs, err)
	}

	s.gcTicker = opts.GCTicker
	if s.gcTicker == nil {
		interval := opts.GCInterval
		if interval <= 0 {
			interval = DefaultGCInterval
		}
		s.gcTicker = ticker.New(interval)
	}
	s.gcTicker.Resume()
	s.wg.Add(1)
	go s.gcLoop()
	return s, nil
}

// open opens badger, checks the schema, reads the index and replays the
// write-ahead log.
func (s *Store) open() error {
	db, err := bdb.Open(badgerOptions(filepath.Join(s.dir, dbDirName),
		s.log))
	if err != nil {
		return fmt.Errorf("badger: %w", err)
	}
	s.db = db
	if err := s.checkSchema(); err != nil {
		return err
	}
	if err := s.readIndex(); err != nil {
		return err
	}
	w, err := openWAL(filepath.Join(s.dir, walName))
	if err != nil {
		return err
	}
	s.wal = w
	return s.replay()
}

// badgerOptions spells out every badger option the store depends on.
func badgerOptions(dir string, log core.Logger) bdb.Options {
	return bdb.DefaultOptions(dir).
		WithLogger(badgerLogger{log}).
		// A committed transaction sits in badger's memory-mapped
		// files, which survive the process being killed; the store
		// syncs them after every move from its write-ahead log.
		WithSyncWrites(false).
		// One writer: no conflicts to detect, no old versions to keep.
		WithDetectConflicts(false).
		WithNumVersionsToKeep(1).
		WithMetricsEnabled(false).
		// Values are small and mostly incompressible timestamps.
		WithCompression(options.None).
		WithBlockCacheSize(0).
		WithIndexCacheSize(0).
		// 64 MiB memtables let one transaction hold about 9 MiB or
		// 100,000 entries, more than any batch the store accepts.
		WithMemTableSize(64 << 20).
		WithNumMemtables(2).
		WithNumCompactors(2).
		WithNumLevelZeroTables(5).
		WithNumLevelZeroTablesStall(15).
		// Records up to 64 KiB (a log chunk is about 9 KiB) live in
		// the LSM tree; larger ones go to the value log.
		WithValueThreshold(64 << 10).
		WithValueLogFileSize(64 << 20)
}

// Dir returns the store's directory (absolute).
func (s *Store) Dir() string {
	return s.dir
}

// Write appends b to the write-ahead log. When it returns nil, b survives
// the process being killed. A batch whose log runs do not continue their
// peers' logs is rejected whole, with an error wrapping base.ErrLogSeq.
func (s *Store) Write(ctx context.Context, b *core.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("write to store %q: %w", s.dir,
			base.ErrClosed)
	}
	if s.broken != nil {
		return fmt.Errorf("write to store %q: %w", s.dir, s.broken)
	}
	if err := base.CheckLogs(b, s.countFn); err != nil {
		return fmt.Errorf("write to store %q: %w", s.dir, err)
	}
	if n := batchEntries(b); n > maxBatchEntries {
		return fmt.Errorf("write to store %q: %w: %d records, at most "+
			"%d", s.dir, ErrBatchTooLarge, n, maxBatchEntries)
	}
	if len(s.pending) >= s.flushBytes {
		if err := s.flush(); err != nil {
			return fmt.Errorf("write to store %q: %w", s.dir, err)
		}
	}

	s.enc.b = appendFrame(s.enc.b[:0], s.lsn+1, b)
	frame := s.enc.b
	if len(frame) > maxFrameBytes {
		return fmt.Errorf("write to store %q: %w: %d bytes, at most %d",
			s.dir, ErrBatchTooLarge, len(frame), maxFrameBytes)
	}
	if err := s.wal.append(frame); err != nil {
		if rerr := s.wal.repair(); rerr != nil {
			s.broken = rerr
		}
		return fmt.Errorf("write to store %q: %w", s.dir, err)
	}
	s.lsn++
	s.pending = append(s.pending, frame...)
	for i := range b.Logs {
		if n := len(b.Logs[i].Events); n > 0 {
			s.counts[b.Logs[i].Peer] += uint64(n)
		}
	}
	return nil
}

// batchEntries is the most badger entries b can turn into.
func batchEntries(b *core.Batch) int {
	return 2 + len(b.Gaps) + len(b.Peers) + len(b.Logs) +
		len(b.Channels) + len(b.DeleteChannels)
}

// Sync moves every written batch into badger and syncs badger's files, so
// that they survive an operating-system crash.
func (s *Store) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("sync store %q: %w", s.dir, base.ErrClosed)
	}
	if err := s.flush(); err != nil {
		return fmt.Errorf("sync store %q: %w", s.dir, err)
	}
	return nil
}

// Close moves what the write-ahead log holds into badger, stops value-log
// GC and closes badger. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var errs []error
	if err := s.flush(); err != nil {
		// The batches stay in the write-ahead log for the next Open.
		errs = append(errs, err)
	}
	s.mu.Unlock()

	close(s.quit)
	s.wg.Wait()
	s.gcTicker.Stop()

	errs = append(errs, s.wal.close(), s.db.Close(), fixModes(s.dir),
		unlockDir(s.lock))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store %q: %w", s.dir, err)
	}
	return nil
}

// count is the length of p's log, pending batches included.
func (s *Store) count(p core.PeerID) uint64 {
	return s.counts[p]
}

// gcLoop runs value-log GC on every tick until Close.
func (s *Store) gcLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.gcTicker.Ticks():
			s.runGC()
		case <-s.quit:
			return
		}
	}
}

// runGC rewrites value-log files while badger finds any worth rewriting,
// then restores file modes on anything badger created since.
func (s *Store) runGC() {
	for i := 0; i < gcMaxRounds; i++ {
		err := s.db.RunValueLogGC(gcDiscardRatio)
		if err == nil {
			continue
		}
		if !errors.Is(err, bdb.ErrNoRewrite) &&
			!errors.Is(err, bdb.ErrRejected) {

			s.log.Warnf("store %q: value-log GC: %v", s.dir, err)
		}
		break
	}
	if err := fixModes(s.dir); err != nil {
		s.log.Warnf("store %q: %v", s.dir, err)
	}
}
