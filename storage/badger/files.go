package badgerstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
)

// lockName is the lock file in the store's directory. It holds the pid of
// the process that has the store open.
const lockName = "chanfitness.lock"

const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

// legacyWALName is the write-ahead log of earlier versions of the store.
const legacyWALName = "chanfitness.wal"

// prepareDir creates dir with mode 0700 if it does not exist. An existing
// directory keeps its mode; it must be empty or hold a store (its lock
// file or db directory).
func prepareDir(dir string) error {
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dir, dirMode)
	}
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%w: not a directory", ErrNotStore)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	for _, e := range entries {
		if e.Name() == lockName || e.Name() == dbDirName {
			return nil
		}
	}
	return fmt.Errorf("%w: the directory holds other files (%s) and "+
		"no store; give the store an empty or new directory", ErrNotStore,
		entries[0].Name())
}

// checkLegacyWAL removes the write-ahead log of an earlier version when a
// clean close left it empty, and refuses a store whose log still holds
// batches.
func checkLegacyWAL(dir string) error {
	path := filepath.Join(dir, legacyWALName)
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrSchema,
			path)
	}
	if info.Size() > int64(len(legacyWALMagic)) {
		return fmt.Errorf("%w: %s holds batches of an earlier "+
			"version: open the store once with that version and "+
			"stop it cleanly", ErrSchema, path)
	}
	return os.Remove(path)
}

// legacyWALMagic is the header of an earlier version's write-ahead log.
const legacyWALMagic = "chfwal\x00\x01"

// openDBDir makes sure the db directory is a directory of the store's
// own: created if missing, never a symbolic link.
func openDBDir(dir string) error {
	info, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.Mkdir(dir, dirMode)
	}
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%w: %s is not a directory of the store "+
			"(a symbolic link or a file)", ErrNotStore, dir)
	}
	return nil
}

// lockDir takes an exclusive lock on the store's lock file, which another
// Store (in this process or another) holding it makes fail with ErrLocked.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW,
		fileMode)
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", dir, err)
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil {
			pid := strings.TrimSpace(string(b))
			if _, perr := strconv.Atoi(pid); perr == nil {
				holder = "pid " + pid + " holds "
			}
		}
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("open store %q: %w (%s%s)", dir,
				ErrLocked, holder, path)
		}
		return nil, fmt.Errorf("open store %q: lock %s: %w", dir, path,
			err)
	}
	pid := strconv.Itoa(os.Getpid()) + "\n"
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(pid), 0)
	}
	return f, nil
}

// unlockDir releases the lock (closing the file drops it). The file stays:
// removing it could let two openers lock two different files.
func unlockDir(f *os.File) error {
	if err := f.Close(); err != nil {
		return fmt.Errorf("release lock: %w", err)
	}
	return nil
}

// syncFile fsyncs the file or directory at path; a file that no longer
// exists is fine.
func syncFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// discardLogger drops every line.
type discardLogger struct{}

func (discardLogger) Debugf(string, ...any) {}
func (discardLogger) Infof(string, ...any)  {}
func (discardLogger) Warnf(string, ...any)  {}
func (discardLogger) Errorf(string, ...any) {}

// badgerLogger hands badger's log lines to a core.Logger, prefixed
// "badger: ", with badger's informational lines at debug level and its
// debug lines dropped.
type badgerLogger struct {
	l core.Logger
}

func trimLine(format string) string {
	return "badger: " + strings.TrimRight(format, "\n")
}

func (b badgerLogger) Errorf(format string, args ...any) {
	b.l.Errorf(trimLine(format), args...)
}

func (b badgerLogger) Warningf(format string, args ...any) {
	b.l.Warnf(trimLine(format), args...)
}

func (b badgerLogger) Infof(format string, args ...any) {
	b.l.Debugf(trimLine(format), args...)
}

// Debugf drops badger's debug lines: they trace every write ("Writing to
// memtable", four a Write) and would drown the store's own.
func (b badgerLogger) Debugf(string, ...any) {}

// The store looks at the free space of its file system at Open and
// then before a Write once the Writes since the last look have added
// roomBytes (or half what was above the reserve, if less), or once
// roomInterval has passed: a look per Write would cost more than the
// Write. While the space is short it looks before every Write.
const (
	roomBytes    = 1 << 20
	roomInterval = time.Second
)

// haveRoom is checkSpace when it is time to look again, and nil
// otherwise. Callers hold s.mu.
func (s *Store) haveRoom() error {
	if s.reserve < 0 ||
		(s.room > 0 && s.clock.Now().Sub(s.roomAt) < roomInterval) {

		return nil
	}
	s.room = 0
	free, err := s.checkSpace()
	if err != nil {
		return err
	}
	s.room = min((free-s.reserve)/2, roomBytes)
	s.roomAt = s.clock.Now()
	return nil
}

// checkSpace fails with an error wrapping base.ErrNoSpace when the file
// system of the store's directory has less free space than the reserve.
// It returns the free space.
func (s *Store) checkSpace() (int64, error) {
	return checkSpace(s.dir, s.reserve)
}

// checkSpace is Store.checkSpace for the store in dir keeping reserve
// bytes free.
func checkSpace(dir string, reserve int64) (int64, error) {
	if reserve < 0 {
		return 0, nil
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("free space of %s: %w", dir, err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free < reserve {
		return free, fmt.Errorf("%w in %s: %d bytes free, the store "+
			"keeps %d in reserve", base.ErrNoSpace, dir, free,
			reserve)
	}
	return free, nil
}
