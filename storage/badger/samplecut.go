package badgerstore

import (
	"errors"
	"fmt"
	"time"

	"github.com/chanfitness/chanfitness/storage/internal/base"
	bdb "github.com/dgraph-io/badger/v4"
)

// SampleCut returns the latest sample cut written (zero when none): Load
// returns no sample older, and a core.StoredState does not carry it, so a
// copy of the history into another store takes it from here.
func (s *Store) SampleCut() (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return time.Time{}, fmt.Errorf("read the sample cut of store "+
			"%q: %w", s.dir, base.ErrClosed)
	}
	var cut time.Time
	err := s.db.View(func(txn *bdb.Txn) error {
		var err error
		cut, err = readSampleCut(txn)
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("read the sample cut of store "+
			"%q: %w", s.dir, err)
	}
	return cut, nil
}

// readSampleCut reads the latest sample cut (zero when none).
func readSampleCut(txn *bdb.Txn) (time.Time, error) {
	var cut time.Time
	item, err := txn.Get(sampleCutKey)
	switch {
	case err == nil:
		err = decodeValue(item, func(d *decoder) {
			d.version()
			cut = d.time()
		})
	case errors.Is(err, bdb.ErrKeyNotFound):
		err = nil
	}
	return cut, err
}
