// Package badgerstore is a core.Store on disk, built on the badger
// key-value store (github.com/dgraph-io/badger/v4). It lives in
// storage/badger.
//
// Each Write is one badger transaction: once Write returns, the batch is
// in badger's memory-mapped files, in the operating system's page cache,
// and survives the process being killed. Sync (which the monitor calls
// once per sync interval) writes badger's files to stable storage, which
// bounds what an operating-system crash may lose; with nothing written
// since the last Sync, Sync does no I/O at all.
//
// Each peer's log is kept as segments of events under keys ordered by
// sequence number. Sync packs the logs that have gathered many small
// segments into chunks of 1,024 events (each peer in its own transaction;
// packing never changes a log's content), so Load reads a few thousand
// values rather than millions.
//
// History is checked, not trusted. Badger verifies the checksum of every
// table it reads, and Open checks every table, the manifest and the
// memtable files before badger touches them. A record beside badger's
// files (chanfitness.ack) holds the number of the last batch Write
// acknowledged, so that Open notices a history that came back shorter
// than what was acknowledged, whichever file lost it. A damaged store
// fails Open with an error wrapping storage.ErrCorrupt that names the
// file and says how to restore the history from a backup; the store
// writes a backup of its whole history at Open, once a day and at Close
// (see Restore).
//
// The store touches only what it created: its lock, acknowledgment and
// backup files and its db directory. It never changes the mode of
// anything, follows no symbolic link inside its directory, and refuses
// a directory that holds other files but no store.
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
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
)

var (
	// ErrLocked is returned by Open when another Store, in this process
	// or another one, has the directory open.
	ErrLocked = errors.New("locked by another process")

	// ErrSchema is returned by Open when the directory holds data of a
	// schema version this build does not read, or of no known version.
	ErrSchema = errors.New("unsupported schema")

	// ErrNotStore is returned by Open for a directory that holds files
	// but no store.
	ErrNotStore = errors.New("not a chanfitness store")

	// ErrBatchTooLarge is returned by Write for a batch larger than one
	// badger transaction can hold.
	ErrBatchTooLarge = errors.New("batch too large")
)

// SchemaVersion is the version of the key layout and record formats this
// build writes and reads. It opens stores of the version before, and
// upgrades them.
const SchemaVersion = 2

// Defaults for Options fields left zero.
const (
	DefaultGCInterval     = 10 * time.Minute
	DefaultBackupInterval = 24 * time.Hour
	DefaultReserveBytes   = 256 << 20
)

const (
	// dbDirName is the badger directory inside the store's directory.
	dbDirName = "db"

	// gcDiscardRatio is the share of stale data that makes value-log GC
	// rewrite a file; gcMaxRounds bounds the rewrites of one GC run.
	gcDiscardRatio = 0.5
	gcMaxRounds    = 16

	// maxBatchEntries and maxBatchBytes bound one batch, so that any
	// single batch fits in one badger transaction.
	maxBatchEntries = 50_000
	maxBatchBytes   = 4 << 20

	// memTableSize is badger's memtable size; a memtable file takes
	// twice as much.
	memTableSize = 64 << 20
)

// Options configures a Store.
type Options struct {
	// Logger receives the store's log lines and badger's own (badger's
	// informational lines at debug level, its per-write debug lines
	// not at all); nil discards them. Nothing is ever written to stdout
	// or stderr.
	Logger core.Logger

	// GCInterval is how often badger's value-log garbage collection runs
	// (default 10 minutes).
	GCInterval time.Duration

	// GCTicker overrides the ticker built from GCInterval (tests use
	// ticker.NewForce). The store resumes and stops it.
	GCTicker ticker.Ticker

	// BackupInterval is how often the store writes a backup while open
	// (default a day); it also writes one at Open and at Close. A
	// negative interval writes none at all.
	BackupInterval time.Duration

	// BackupTicker overrides the ticker built from BackupInterval.
	BackupTicker ticker.Ticker

	// ReserveBytes is the free space the store keeps on its file
	// system: below it, Open and Write fail with storage.ErrNoSpace
	// (default 256 MiB, enough for badger to finish what it started).
	// Open looks at the free space, and Write once a second and after
	// each MiB it wrote (every Write while the space is short). A
	// negative value keeps no reserve.
	ReserveBytes int64

	// Clock stamps backups and times the looks at the free space
	// (default the wall clock).
	Clock clock.Clock
}

// Store is a core.Store in a directory on disk. It is safe for concurrent
// use.
type Store struct {
	dir      string
	log      core.Logger
	db       *bdb.DB
	lock     *os.File
	ack      *ackFile
	reserve  int64
	clock    clock.Clock
	gcTicker ticker.Ticker
	bkTicker ticker.Ticker
	quit     chan struct{}
	wg       sync.WaitGroup

	// bkMu serializes backups.
	bkMu sync.Mutex

	mu     sync.Mutex
	closed bool

	// lsn is the sequence number of the last batch committed, synced
	// that of the last one on stable storage; dirty is set when
	// something was written since the last Sync.
	lsn    uint64
	synced uint64
	dirty  bool

	// counts is the length of every peer's log; countFn looks it up for
	// base.CheckLogs.
	counts  map[core.PeerID]uint64
	countFn func(core.PeerID) uint64

	// gaps is the number of gaps in badger; logs is the layout of each
	// peer's log in badger.
	gaps uint64
	logs map[core.PeerID]*logState

	// staged holds the layouts a Write makes until it commits.
	staged map[core.PeerID]logState

	// recent holds the batches written to the ring and not yet folded.
	recent recent

	// cut is the latest sample cut written.
	cut time.Time

	// room is how many bytes Write may still add before the free space
	// is looked at again, roomAt when it was last looked at.
	room   int64
	roomAt time.Time
}

var _ core.Store = (*Store)(nil)

// Open opens (creating it if needed) the store in dir. A directory it
// creates gets mode 0700; an existing one keeps its mode and must be
// empty or hold a store (else ErrNotStore). A directory another Store has
// open fails with an error wrapping ErrLocked that names it; a damaged
// store with one wrapping storage.ErrCorrupt that names the damaged file;
// a file system with less free space than the reserve with one wrapping
// storage.ErrNoSpace.
func Open(dir string, opts Options) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", dir, err)
	}
	if err := prepareDir(abs); err != nil {
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
		dir:     abs,
		log:     log,
		lock:    lock,
		reserve: opts.ReserveBytes,
		clock:   opts.Clock,
		quit:    make(chan struct{}),
		counts:  make(map[core.PeerID]uint64),
		logs:    make(map[core.PeerID]*logState),
		staged:  make(map[core.PeerID]logState),
	}
	s.countFn = s.count
	if s.reserve == 0 {
		s.reserve = DefaultReserveBytes
	}
	if s.clock == nil {
		s.clock = clock.NewDefaultClock()
	}

	if err := s.open(); err != nil {
		if s.ack != nil {
			_ = s.ack.close()
		}
		if s.db != nil {
			_ = s.db.Close()
		}
		_ = unlockDir(lock)
		if errors.Is(err, base.ErrCorrupt) {
			err = fmt.Errorf("%w; %s", err, restoreHint(abs))
		}
		return nil, fmt.Errorf("open store %q: %w", abs, err)
	}

	s.gcTicker = opts.GCTicker
	if s.gcTicker == nil {
		interval := opts.GCInterval
		if interval <= 0 {
			interval = DefaultGCInterval
		}
		s.gcTicker = ticker.New(interval)
	}
	s.bkTicker = opts.BackupTicker
	if s.bkTicker == nil && opts.BackupInterval >= 0 {
		interval := opts.BackupInterval
		if interval == 0 {
			interval = DefaultBackupInterval
		}
		s.bkTicker = ticker.New(interval)
	}
	if s.bkTicker != nil {
		s.bkTicker.Resume()
	}
	s.gcTicker.Resume()
	s.wg.Add(1)
	go s.loop()
	return s, nil
}

// open checks badger's files, opens badger, checks the schema, reads the
// index and checks the history against the acknowledgment record.
func (s *Store) open() error {
	if err := checkLegacyWAL(s.dir); err != nil {
		return err
	}
	if _, err := s.checkSpace(); err != nil {
		return err
	}
	ack, rec, err := openAck(s.dir)
	if err != nil {
		return err
	}
	s.ack = ack
	boot := currentBoot()
	sameBoot := rec.valid && boot != (bootID{}) && rec.boot == boot
	dbDir := filepath.Join(s.dir, dbDirName)
	scan, err := checkFiles(dbDir, sameBoot)
	if err != nil {
		return err
	}

	db, err := openBadger(dbDir, s.log)
	if err != nil {
		return err
	}
	s.db = db
	fresh, err := s.checkSchema()
	if err != nil {
		return err
	}
	applied, err := s.readIndex()
	if err != nil {
		return err
	}
	if applied, err = s.readRecent(applied); err != nil {
		return err
	}
	if err := s.checkAck(rec, applied, fresh, sameBoot, scan); err != nil {
		return err
	}
	s.lsn = applied
	s.synced = min(rec.synced, applied)
	return s.ack.write(boot, s.lsn, s.synced)
}

// badgerOptions spells out every badger option the store depends on.
func badgerOptions(dir string, log core.Logger) bdb.Options {
	return bdb.DefaultOptions(dir).
		WithLogger(badgerLogger{log}).
		// A committed transaction sits in badger's memory-mapped
		// files, which survive the process being killed; Sync syncs
		// them.
		WithSyncWrites(false).
		// Every table's checksum at open, every block's when read.
		WithChecksumVerificationMode(options.OnTableAndBlockRead).
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
		WithMemTableSize(memTableSize).
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

// Write applies b in one badger transaction. When it returns nil, b
// survives the process being killed. A batch whose log runs do not
// continue their peers' logs is rejected whole, with an error wrapping
// storage.ErrLogSeq; with less free space than the reserve, with one
// wrapping storage.ErrNoSpace that names the directory. A failed Write
// applies nothing and leaves the store usable.
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
	if err := base.CheckLogs(b, s.countFn); err != nil {
		return fmt.Errorf("write to store %q: %w", s.dir, err)
	}
	if n := batchEntries(b); n > maxBatchEntries {
		return fmt.Errorf("write to store %q: %w: %d records, at most "+
			"%d", s.dir, ErrBatchTooLarge, n, maxBatchEntries)
	}
	if err := s.haveRoom(); err != nil {
		return fmt.Errorf("write to store %q: %w", s.dir, err)
	}
	if err := s.write(b); err != nil {
		return fmt.Errorf("write to store %q: %w", s.dir, err)
	}
	s.lsn++
	s.dirty = true
	for i := range b.Logs {
		if n := len(b.Logs[i].Events); n > 0 {
			s.counts[b.Logs[i].Peer] += uint64(n)
		}
	}
	if err := s.ack.write(currentBoot(), s.lsn, s.synced); err != nil {
		// The batch is in badger: failing the Write would have it
		// written twice. The next Write or Sync tries again.
		s.log.Errorf("store %q: %v", s.dir, err)
	}
	return nil
}

// write writes b as batch s.lsn+1: a small batch as a recent batch, one
// badger entry (folding first when many wait), a larger one to its
// records' keys after the recent batches.
func (s *Store) write(b *core.Batch) error {
	if ringable(b) {
		if s.recent.len() >= foldBatches ||
			len(s.recent.buf) >= foldBytes {

			if err := s.fold(); err != nil {
				return err
			}
		}
		return s.writeRecent(b, s.lsn+1)
	}
	if err := s.fold(); err != nil {
		return err
	}
	return s.apply(b, s.lsn+1)
}

// batchEntries is the most badger entries b can turn into.
func batchEntries(b *core.Batch) int {
	n := 2 + len(b.Gaps) + len(b.Peers) + len(b.Logs) +
		len(b.Channels) + len(b.DeleteChannels) + len(b.Samples) +
		len(b.Filled) + len(b.Alerts) + len(b.DeleteAlerts)
	if !b.DeleteSamplesBefore.IsZero() {
		n++
	}
	return n
}

// Sync packs the logs that need it and writes badger's files to stable
// storage, so that every written batch survives an operating-system
// crash. With nothing written since the last Sync it does nothing.
func (s *Store) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("sync store %q: %w", s.dir, base.ErrClosed)
	}
	if err := s.sync(); err != nil {
		return fmt.Errorf("sync store %q: %w", s.dir, err)
	}
	return nil
}

// sync is Sync with s.mu held.
func (s *Store) sync() error {
	if !s.dirty {
		return nil
	}
	if err := s.fold(); err != nil {
		return err
	}
	s.pack()
	if err := s.syncBadger(); err != nil {
		return err
	}
	s.synced = s.lsn
	s.dirty = false
	return s.ack.write(currentBoot(), s.lsn, s.synced)
}

// Close syncs, writes a backup, stops the store's background work and
// closes badger. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var errs []error
	if err := s.sync(); err != nil {
		errs = append(errs, err)
	}
	s.mu.Unlock()

	close(s.quit)
	s.wg.Wait()
	s.gcTicker.Stop()
	if s.bkTicker != nil {
		s.bkTicker.Stop()
		s.backup()
	}
	errs = append(errs, s.db.Close(), s.ack.close(), unlockDir(s.lock))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store %q: %w", s.dir, err)
	}
	return nil
}

// count is the length of p's log.
func (s *Store) count(p core.PeerID) uint64 {
	return s.counts[p]
}

// loop runs value-log GC and backups on their tickers until Close.
func (s *Store) loop() {
	defer s.wg.Done()
	var backups <-chan time.Time
	if s.bkTicker != nil {
		backups = s.bkTicker.Ticks()
		s.backup()
	}
	for {
		select {
		case <-s.gcTicker.Ticks():
			s.runGC()
		case <-backups:
			s.backup()
		case <-s.quit:
			return
		}
	}
}

// runGC rewrites value-log files while badger finds any worth rewriting.
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
}
