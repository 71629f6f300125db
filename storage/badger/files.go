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

	"github.com/chanfitness/chanfitness/core"
)

// lockName is the lock file in the store's directory. It holds the pid of
// the process that has the store open.
const lockName = "chanfitness.lock"

const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

// makePrivateDir creates dir with mode 0700, or restricts an existing one
// to it.
func makePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	return os.Chmod(dir, dirMode)
}

// lockDir takes an exclusive lock on the store's lock file, which another
// Store (in this process or another) holding it makes fail with ErrLocked.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
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

// fixModes gives every directory under dir mode 0700 and every file 0600.
// Badger creates some of its files 0666 (less the umask); the store's own
// 0700 directory already keeps them private in between.
func fixModes(dir string) error {
	var errs []error
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry,
		err error) error {

		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			return nil
		}
		want := fileMode
		if d.IsDir() {
			want = dirMode
		}
		info, err := d.Info()
		if err != nil {
			// Removed by badger meanwhile.
			return nil
		}
		if info.Mode().Perm() == want {
			return nil
		}
		if err := os.Chmod(path, want); err != nil &&
			!errors.Is(err, fs.ErrNotExist) {

			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("restrict file modes: %w", err)
	}
	return nil
}

// syncBadger makes everything committed to badger durable. db.Sync syncs
// only the active memtable's write-ahead file and the current value-log
// file; a memtable or value-log file rotated out since the last call is
// not synced until badger has written it to a table. So after db.Sync
// every memtable (.mem) and value-log (.vlog) file badger has, and the
// directory, are synced too (fsync writes back pages dirtied through a
// memory map). Files badger removes meanwhile are skipped.
func (s *Store) syncBadger() error {
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("sync badger: %w", err)
	}
	dir := filepath.Join(s.dir, dbDirName)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("sync badger: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".mem") &&
			!strings.HasSuffix(name, ".vlog") {

			continue
		}
		if err := syncFile(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("sync badger: %w", err)
		}
	}
	if err := syncFile(dir); err != nil {
		return fmt.Errorf("sync badger: %w", err)
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
// "badger: ", with badger's informational lines at debug level.
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

func (b badgerLogger) Debugf(format string, args ...any) {
	b.l.Debugf(trimLine(format), args...)
}
