//go:build !linux

package badgerstore

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

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
