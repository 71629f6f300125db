package badgerstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	bdb "github.com/dgraph-io/badger/v4"
)

// A backup is the whole history in one file: backupMagic, the body's
// length (little-endian uint64) and CRC-32C (little-endian uint32), and
// the body: backupVersion, the time the backup was taken, the sequence
// number of the last batch in it, the store's id (from version 2 on:
// version 1 has none, and an earlier build refuses version 2 by its
// number), and the history encoded as one batch
// (the write-ahead encoding of earlier versions: about eight bytes an
// event), its alert records included (in the batch's alert section,
// which backups of earlier versions lack: they restore without alerts)
// and its sample cut as the batch's (zero in earlier versions). The store
// keeps the newest two, written as lnd writes its channel backup: to a
// temporary file, synced, then renamed over the older one.
const (
	backupName    = "chanfitness.backup"
	backupOldName = "chanfitness.backup.old"
	backupTmpName = "chanfitness.backup.tmp"
	backupMagic   = "chfbak\x00\x01"
	backupHdrLen  = len(backupMagic) + 8 + 4

	// backupVersion is the version of the body this build writes; it
	// reads 1 too.
	backupVersion = 2

	// restoreDirName is where Restore builds the new database;
	// damagedDirName where it moves the one it replaces.
	restoreDirName = "db.restore"
	damagedDirName = "db.damaged"
)

// backup writes a backup of the history, logging a failure.
func (s *Store) backup() {
	s.bkMu.Lock()
	defer s.bkMu.Unlock()
	if err := s.writeBackup(); err != nil {
		s.log.Errorf("store %q: backup: %v", s.dir, err)
	}
}

// backupHeader reads into bk what a backup holds beside the history,
// drawing the store's id if it has none. The caller holds s.mu.
func (s *Store) backupHeader(txn *bdb.Txn, bk *Backup) error {
	var err error
	if bk.lsn, err = readApplied(txn); err != nil {
		return err
	}
	if bk.SampleCut, err = readSampleCut(txn); err != nil {
		return err
	}
	if bk.id, err = readStoreID(txn); err != nil {
		return err
	}
	if bk.id == (storeID{}) {
		bk.id, err = s.newStoreID()
	}
	return err
}

func (s *Store) writeBackup() error {
	if _, err := s.checkSpace(); err != nil {
		return err
	}
	bk := &Backup{State: &core.StoredState{}}
	s.mu.Lock()
	txn, ix, err := s.snapshot()
	if err == nil {
		defer txn.Discard()
		err = s.backupHeader(txn, bk)
	}
	s.mu.Unlock()
	if err == nil {
		err = ix.load(context.Background(), txn, bk.State)
	}
	if err != nil {
		return err
	}
	bk.Taken = s.clock.Now()
	data := encodeBackup(bk)

	// A new file each time: whatever is left under the name (a file
	// a killed backup left, or a link to another file) is unlinked,
	// never written through.
	tmp := filepath.Join(s.dir, backupTmpName)
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|
		syscall.O_NOFOLLOW, fileMode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	cur := filepath.Join(s.dir, backupName)
	if info, err := os.Lstat(cur); err == nil && info.Mode().IsRegular() {
		err := os.Rename(cur, filepath.Join(s.dir, backupOldName))
		if err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, cur); err != nil {
		return err
	}
	return syncFile(s.dir)
}

// encodeBackup encodes bk (its path aside). The sample cut is the
// batch's DeleteSamplesBefore.
func encodeBackup(bk *Backup) []byte {
	st := bk.State
	b := core.Batch{
		Meta:                &st.Meta,
		DeleteSamplesBefore: bk.SampleCut,
		Gaps:                st.Gaps,
		Peers:               st.Peers,
		Logs:                st.Logs,
		Channels:            st.Channels,
		Samples:             st.Samples,
		Filled:              st.Filled,
		Alerts:              st.Alerts,
	}
	return encodeBackupBatch(&b, bk.lsn, bk.id, bk.Taken)
}

// encodeBackupBatch encodes a backup of the store id that holds b.
func encodeBackupBatch(b *core.Batch, lsn uint64, id storeID,
	at time.Time) []byte {

	e := encoder{b: make([]byte, backupHdrLen, 1<<16)}
	copy(e.b, backupMagic)
	e.byte(backupVersion)
	e.time(at)
	e.uvarint(lsn)
	e.bytes(id[:])
	e.batch(b)
	body := e.b[backupHdrLen:]
	binary.LittleEndian.PutUint64(e.b[len(backupMagic):],
		uint64(len(body)))
	binary.LittleEndian.PutUint32(e.b[len(backupMagic)+8:],
		crc32.Checksum(body, crcTable))
	return e.b
}

// Backup is a backup read back: the history and when it was taken.
type Backup struct {
	// Path is the backup's file.
	Path string

	// Taken is when the backup was written; the time since is not in
	// it.
	Taken time.Time

	// State is the history the backup holds.
	State *core.StoredState

	// SampleCut is the history's latest sample cut (zero when none):
	// State holds no sample older, and a store restored from the
	// backup keeps out a late one older too. Backups of earlier
	// versions have none.
	SampleCut time.Time

	lsn uint64

	// id is the id of the store the backup is of (zero in a backup of
	// version 1).
	id storeID
}

// storeID tells stores apart: a random number a store draws for itself
// at its first backup, kept in its database and in its backups, and
// taken over by a store restored from one of them.
type storeID [16]byte

// readStoreID reads the store's id (zero when it has none yet).
func readStoreID(txn *bdb.Txn) (storeID, error) {
	var id storeID
	item, err := txn.Get(storeIDKey)
	switch {
	case err == nil:
		err = decodeValue(item, func(d *decoder) {
			copy(id[:], d.take(len(id)))
		})
	case errors.Is(err, bdb.ErrKeyNotFound):
		err = nil
	}
	return id, err
}

// newStoreID draws the store's id and writes it. Callers hold s.mu.
func (s *Store) newStoreID() (storeID, error) {
	var id storeID
	if _, err := rand.Read(id[:]); err != nil {
		return id, err
	}
	err := s.db.Update(func(txn *bdb.Txn) error {
		return txn.Set(storeIDKey, id[:])
	})
	if err == nil {
		// Once in a store's life: the backups that carry the id must
		// not outlive it in an operating-system crash.
		err = s.db.Sync()
	}
	return id, err
}

// ReadBackup reads and checks the backup file at path. A damaged file
// fails with an error wrapping storage.ErrCorrupt that names it; so does
// one that is not a backup, which ReadBackup tells by its first bytes
// without reading it all. Anything but a regular file (a directory, a
// device, a pipe) fails with an error naming it.
func ReadBackup(path string) (*Backup, error) {
	// Non-blocking, so that a pipe without a writer fails here rather
	// than hang.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("read backup: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read backup %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("read backup %s: not a regular file "+
			"(%v)", path, info.Mode().Type())
	}
	corrupt := func(err error) error {
		return fmt.Errorf("%w: backup %s: %v", base.ErrCorrupt, path,
			err)
	}
	hdr := make([]byte, backupHdrLen)
	if _, err := io.ReadFull(f, hdr); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, corrupt(errNotBackup)
		}
		return nil, fmt.Errorf("read backup %s: %w", path, err)
	}
	if err := checkBackupHeader(hdr, info.Size()); err != nil {
		return nil, corrupt(err)
	}
	data := make([]byte, info.Size())
	copy(data, hdr)
	if _, err := io.ReadFull(f, data[backupHdrLen:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, corrupt(errors.New("cut short while read"))
		}
		return nil, fmt.Errorf("read backup %s: %w", path, err)
	}
	bk, err := decodeBackup(data)
	if err != nil {
		return nil, corrupt(err)
	}
	bk.Path = path
	return bk, nil
}

var errNotBackup = errors.New("not a chanfitness backup")

// checkBackupHeader checks the header of a backup of size bytes.
func checkBackupHeader(hdr []byte, size int64) error {
	if len(hdr) < backupHdrLen ||
		string(hdr[:len(backupMagic)]) != backupMagic {

		return errNotBackup
	}
	n := binary.LittleEndian.Uint64(hdr[len(backupMagic):])
	if body := uint64(size) - uint64(backupHdrLen); body != n {
		return fmt.Errorf("%d bytes of history, want %d", body, n)
	}
	return nil
}

func decodeBackup(data []byte) (*Backup, error) {
	if err := checkBackupHeader(data, int64(len(data))); err != nil {
		return nil, err
	}
	body := data[backupHdrLen:]
	if crc32.Checksum(body, crcTable) !=
		binary.LittleEndian.Uint32(data[len(backupMagic)+8:]) {

		return nil, errors.New("checksum mismatch")
	}
	d := decoder{b: body}
	v := d.byte()
	if d.err == nil && v != 1 && v != backupVersion {
		return nil, fmt.Errorf("backup version %d, this build reads "+
			"versions 1 and %d", v, backupVersion)
	}
	bk := &Backup{Taken: d.time(), lsn: d.uvarint()}
	if v >= 2 {
		copy(bk.id[:], d.take(len(bk.id)))
	}
	var b core.Batch
	d.batch(&b)
	bk.SampleCut = b.DeleteSamplesBefore
	if err := d.end(); err != nil {
		return nil, err
	}
	if bk.lsn > maxBackupLSN {
		return nil, fmt.Errorf("batch number %d out of range", bk.lsn)
	}
	if err := checkBackupBatch(&b); err != nil {
		return nil, err
	}
	bk.State = &core.StoredState{
		Gaps:     b.Gaps,
		Peers:    b.Peers,
		Logs:     b.Logs,
		Channels: b.Channels,
		Samples:  b.Samples,
		Filled:   b.Filled,
		Alerts:   b.Alerts,
	}
	if b.Meta != nil {
		bk.State.Meta = *b.Meta
	}
	return bk, nil
}

// maxBackupLSN bounds the number of the last batch in a backup: far more
// than a store ever writes, and far enough from the largest number that
// a store restored from the backup can go on numbering its batches.
const maxBackupLSN = 1 << 62

// checkBackupBatch checks that b is a whole history as the store writes
// one into a backup: peers, logs, channels and alerts each in key order,
// none twice, every log from its first event, no channel or alert to
// delete (its sample cut is the history's). A batch that passes rebuilds
// into a store that opens and loads it whole.
func checkBackupBatch(b *core.Batch) error {
	for i := range b.Peers {
		if i > 0 && bytes.Compare(b.Peers[i-1].Peer[:],
			b.Peers[i].Peer[:]) >= 0 {

			return fmt.Errorf("peer %v twice or out of order",
				b.Peers[i].Peer)
		}
	}
	for i := range b.Logs {
		l := &b.Logs[i]
		if l.Seq != 0 {
			return fmt.Errorf("log of peer %v starts at event %d, "+
				"not 0", l.Peer, l.Seq)
		}
		if i > 0 && bytes.Compare(b.Logs[i-1].Peer[:], l.Peer[:]) >= 0 {
			return fmt.Errorf("log of peer %v twice or out of order",
				l.Peer)
		}
	}
	for i := range b.Channels {
		if i > 0 && bytes.Compare(channelKey(b.Channels[i-1].Point),
			channelKey(b.Channels[i].Point)) >= 0 {

			return fmt.Errorf("channel %v twice or out of order",
				b.Channels[i].Point)
		}
	}
	for i := range b.Alerts {
		if i > 0 && b.Alerts[i-1].Key >= b.Alerts[i].Key {
			return fmt.Errorf("alert %q twice or out of order",
				b.Alerts[i].Key)
		}
	}
	if len(b.DeleteChannels) > 0 || len(b.DeleteAlerts) > 0 {
		return errors.New("records to delete, which a backup never " +
			"holds")
	}
	return nil
}

// NewestBackup returns the intact backup of the store in dir that holds
// the most batches. It fails when there is none, naming the damaged ones.
func NewestBackup(dir string) (*Backup, error) {
	best, _, err := besideBackups(dir)
	return best, err
}

// besideBackups reads the backups beside the store in dir. It returns
// the newest intact one (that holds the most batches) and every intact
// one, and fails when none is intact, naming the damaged ones. A backup
// that is a symbolic link is not the store's own and is passed over.
func besideBackups(dir string) (*Backup, []*Backup, error) {
	var (
		best *Backup
		all  []*Backup
		errs []error
	)
	for _, name := range []string{backupName, backupOldName} {
		path := filepath.Join(dir, name)
		info, err := os.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("read backup: %w", err))
			continue
		case info.Mode()&fs.ModeSymlink != 0:
			errs = append(errs, fmt.Errorf("read backup %s: a "+
				"symbolic link, not the store's own backup", path))
			continue
		}
		bk, err := ReadBackup(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			errs = append(errs, err)
		default:
			all = append(all, bk)
			if best == nil || bk.lsn > best.lsn ||
				bk.lsn == best.lsn && bk.Taken.After(best.Taken) {
				// By content, not by time: the clock may have
				// stepped back between the two.
				best = bk
			}
		}
	}
	if best == nil {
		errs = append(errs, fmt.Errorf("no backup in %s", dir))
		return nil, nil, errors.Join(errs...)
	}
	return best, all, nil
}

// restoreHint tells how to restore the history of the store in dir.
func restoreHint(dir string) string {
	hint := "to restore the history from the store's newest backup, " +
		"stop the node and run the restore command (chanfitness-lnd " +
		"restore, or chanfitness-cln restore --datadir=" + dir + ")"
	bk, err := NewestBackup(dir)
	if err != nil {
		return hint + "; no intact backup was found: " + err.Error()
	}
	return fmt.Sprintf("%s; it restores %s, taken %s", hint, bk.Path,
		bk.Taken.UTC().Format(time.RFC3339))
}

// Restore rebuilds the store in dir from the backup at from (the newest
// intact backup beside the store when from is empty), replacing its
// database, which it keeps as db.damaged (db.damaged.2 and on when that
// is taken, so that no restore removes a database). The store must not be
// open. The history after the backup was taken is lost; the monitor counts
// that time as unmonitored. Restore returns the backup it used.
//
// Without from, a directory that does not exist or holds no backup fails
// with nothing created; with from, dir may be new. A backup from
// elsewhere of another store than the backups beside the store fails with
// an error wrapping ErrOtherStore. A file
// system with less free space than the store's default reserve fails
// with an error wrapping storage.ErrNoSpace. Neither builds anything.
func Restore(dir, from string) (*Backup, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("restore store %q: %w", dir, err)
	}
	if from == "" {
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("restore store %q: %w", abs, err)
		}
	}
	if err := prepareDir(abs); err != nil {
		return nil, fmt.Errorf("restore store %q: %w", abs, err)
	}
	if from == "" {
		if err := haveBackup(abs); err != nil {
			return nil, fmt.Errorf("restore store %q: %w", abs, err)
		}
	}
	lock, err := lockDir(abs)
	if err != nil {
		return nil, err
	}
	defer func() { _ = unlockDir(lock) }()

	// The store could not open on a disk with less free space than
	// its reserve, and badger may fault on a full one.
	if _, err := checkSpace(abs, DefaultReserveBytes); err != nil {
		return nil, fmt.Errorf("restore store %q: %w", abs, err)
	}
	best, beside, err := besideBackups(abs)
	var bk *Backup
	switch {
	case from == "":
		bk = best
	default:
		bk, err = ReadBackup(from)
	}
	if err == nil && from != "" {
		err = checkSameStore(abs, bk, beside)
	}
	if err != nil {
		return nil, fmt.Errorf("restore store %q: %w", abs, err)
	}
	// The restored store goes on after every backup beside it, so that
	// its backups count as newer than those of the history it
	// replaced, even when these hold more batches.
	lsn := bk.lsn
	for _, o := range beside {
		if !sameFile(o.Path, bk.Path) && o.lsn >= lsn {
			lsn = o.lsn + 1
		}
	}
	if err := rebuild(abs, bk, lsn); err != nil {
		return nil, fmt.Errorf("restore store %q from %s: %w", abs,
			bk.Path, err)
	}
	return bk, nil
}

// ErrOtherStore is returned by Restore for a backup of another store than
// the backups beside the store: of another node's store, or of an earlier
// store in the directory.
var ErrOtherStore = errors.New("a backup of another store")

// checkSameStore fails with ErrOtherStore when bk is of another store
// than a backup beside the store in dir. The error says how to restore bk
// all the same.
func checkSameStore(dir string, bk *Backup, beside []*Backup) error {
	for _, o := range beside {
		if sameStore(bk, o) {
			continue
		}
		return fmt.Errorf("%w: %s is of another store than the "+
			"store's backup %s (histories monitored since %s and "+
			"%s); to restore it all the same, move %s and %s out "+
			"of %s first", ErrOtherStore, bk.Path, o.Path,
			bk.State.Meta.MonitoringSince.UTC().Format(time.RFC3339),
			o.State.Meta.MonitoringSince.UTC().Format(time.RFC3339),
			backupName, backupOldName, dir)
	}
	return nil
}

// sameStore reports whether backups a and b may be of one store: by their
// store ids, or when one has none (version 1), by when their histories
// began, which a store never changes once its monitor has synced.
func sameStore(a, b *Backup) bool {
	if a.id != (storeID{}) && b.id != (storeID{}) {
		return a.id == b.id
	}
	x := a.State.Meta.MonitoringSince
	y := b.State.Meta.MonitoringSince
	return x.IsZero() || y.IsZero() || x.Equal(y)
}

// haveBackup checks that dir holds a backup file.
func haveBackup(dir string) error {
	for _, name := range []string{backupName, backupOldName} {
		_, err := os.Lstat(filepath.Join(dir, name))
		if !errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	return fmt.Errorf("no backup in %s (%s or %s)", dir, backupName,
		backupOldName)
}

// sameFile reports whether paths a and b name the same file.
func sameFile(a, b string) bool {
	ia, err := os.Stat(a)
	if err != nil {
		return false
	}
	ib, err := os.Stat(b)
	return err == nil && os.SameFile(ia, ib)
}

// rebuild writes bk into a new database, with lsn as its last batch, and
// puts it in place of the store's.
func rebuild(dir string, bk *Backup, lsn uint64) error {
	tmp := filepath.Join(dir, restoreDirName)
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.Mkdir(tmp, dirMode); err != nil {
		return err
	}
	if err := buildDB(tmp, bk, lsn); err != nil {
		// Nothing of the store was touched yet.
		return errors.Join(err, os.RemoveAll(tmp))
	}

	cur := filepath.Join(dir, dbDirName)
	old := ""
	if _, err := os.Lstat(cur); err == nil {
		if old, err = damagedName(dir); err != nil {
			return err
		}
		if err := os.Rename(cur, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, cur); err != nil {
		if old != "" {
			// Put the store's database back.
			err = errors.Join(err, os.Rename(old, cur))
		}
		return err
	}
	if err := syncFile(dir); err != nil {
		return err
	}
	ack := filepath.Join(dir, ackName)
	if err := os.Remove(ack); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	a, _, err := openAck(dir)
	if err != nil {
		return err
	}
	err = a.write(currentBoot(), lsn, lsn)
	if err == nil {
		err = a.f.Sync()
	}
	return errors.Join(err, a.close())
}

// buildDB writes bk into a new database in the empty directory dir.
func buildDB(dir string, bk *Backup, lsn uint64) error {
	db, err := bdb.Open(badgerOptions(dir, discardLogger{}))
	if err != nil {
		return err
	}
	if err := writeState(db, bk, lsn); err != nil {
		return errors.Join(err, db.Close())
	}
	return db.Close()
}

// damagedName returns the first free name among db.damaged,
// db.damaged.2, db.damaged.3 and on in dir.
func damagedName(dir string) (string, error) {
	for i := 1; ; i++ {
		name := damagedDirName
		if i > 1 {
			name += "." + strconv.Itoa(i)
		}
		path := filepath.Join(dir, name)
		_, err := os.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return path, nil
		case err != nil:
			return "", err
		}
	}
}

// writeState writes the history of bk into the empty database db, logs
// in full chunks, with lsn as the number of the last batch applied.
func writeState(db *bdb.DB, bk *Backup, lsn uint64) error {
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	st := bk.State
	set := func(k []byte, write func(*encoder)) error {
		var e encoder
		write(&e)
		if err := wb.Set(k, e.b); err != nil {
			return fmt.Errorf("set %s: %w", keyString(k), err)
		}
		return nil
	}
	err := set(schemaKey, func(e *encoder) { e.uvarint(SchemaVersion) })
	if err == nil {
		err = set(appliedKey, func(e *encoder) { e.uvarint(lsn) })
	}
	if err == nil {
		err = set(metaKey, func(e *encoder) { e.meta(&st.Meta) })
	}
	if err == nil && bk.id != (storeID{}) {
		err = set(storeIDKey, func(e *encoder) { e.bytes(bk.id[:]) })
	}
	if cut := bk.SampleCut; err == nil && !cut.IsZero() {
		err = set(sampleCutKey, func(e *encoder) {
			e.byte(recordVersion)
			e.time(cut)
		})
	}
	for i := 0; err == nil && i < len(st.Gaps); i++ {
		err = set(gapKey(uint64(i)), func(e *encoder) {
			e.gap(&st.Gaps[i])
		})
	}
	for i := 0; err == nil && i < len(st.Peers); i++ {
		err = set(peerKey(st.Peers[i].Peer), func(e *encoder) {
			e.peer(&st.Peers[i])
		})
	}
	for i := 0; err == nil && i < len(st.Channels); i++ {
		err = set(channelKey(st.Channels[i].Point), func(e *encoder) {
			e.channel(&st.Channels[i])
		})
	}
	for i := 0; err == nil && i < len(st.Samples); i++ {
		p := &st.Samples[i]
		err = set(sampleKey(p.Time, 0, uint32(i)), func(e *encoder) {
			e.sample(p)
		})
	}
	for i := 0; err == nil && i < len(st.Filled); i++ {
		err = set(filledKey(0, uint32(i)), func(e *encoder) {
			e.filled(&st.Filled[i])
		})
	}
	for i := 0; err == nil && i < len(st.Alerts); i++ {
		err = set(alertKey(st.Alerts[i].Key), func(e *encoder) {
			e.alert(&st.Alerts[i])
		})
	}
	for i := 0; err == nil && i < len(st.Logs); i++ {
		l := &st.Logs[i]
		for start := 0; err == nil && start < len(l.Events); {
			end := min(len(l.Events), start+chunkEvents)
			err = set(logKey(l.Peer, uint64(start)),
				func(e *encoder) {
					e.segment(l.Events[start:end])
				})
			start = end
		}
	}
	if err != nil {
		return err
	}
	return wb.Flush()
}
