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
