package badgerstore

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// syncBadger makes everything committed to badger durable, and the
// acknowledgment record with it: one syncfs call writes back every dirty
// page of the store's file system, those written through badger's memory
// maps included. One call, rather than an fsync of each of badger's
// files, is what an idle store costs per sync interval.
func (s *Store) syncBadger() error {
	if err := unix.Syncfs(int(s.lock.Fd())); err != nil {
		return fmt.Errorf("sync file system of %s: %w", s.dir, err)
	}
	return nil
}
