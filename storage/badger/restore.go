package badgerstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	bdb "github.com/dgraph-io/badger/v4"
)

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
