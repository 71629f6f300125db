package badgerstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	bdb "github.com/dgraph-io/badger/v4"
)

// checkSchema writes the schema version into a new database and checks it
// in an existing one. It reports whether the database was new.
func (s *Store) checkSchema() (bool, error) {
	var (
		version uint64
		found   bool
		empty   = true
	)
	err := s.db.View(func(txn *bdb.Txn) error {
		item, err := txn.Get(schemaKey)
		switch {
		case err == nil:
			found = true
			return item.Value(func(v []byte) error {
				d := decoder{b: v}
				version = d.uvarint()
				if err := d.end(); err != nil {
					return fmt.Errorf("%w: %s: %w",
						ErrSchema, keyString(schemaKey),
						err)
				}
				return nil
			})
		case !errors.Is(err, bdb.ErrKeyNotFound):
			return err
		}
		opts := bdb.DefaultIteratorOptions
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		it.Rewind()
		empty = !it.Valid()
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	switch {
	case found && version == SchemaVersion-1:
		// Version 2 added the ring of recent batches, which a
		// version-1 build would not read: upgrade the mark so that
		// such a build refuses the store instead.
		if err := s.writeSchema(); err != nil {
			return false, err
		}
		return false, nil
	case found && version != SchemaVersion:
		return false, fmt.Errorf("%w: schema version %d, this build "+
			"reads version %d", ErrSchema, version, SchemaVersion)
	case found:
		return false, nil
	case !empty:
		return false, fmt.Errorf("%w: data without a schema version "+
			"key (not a chanfitness store?)", ErrSchema)
	}
	if err := s.writeSchema(); err != nil {
		return false, err
	}
	return true, nil
}

// writeSchema writes this build's schema version and syncs it.
func (s *Store) writeSchema() error {
	err := s.db.Update(func(txn *bdb.Txn) error {
		return txn.Set(schemaKey, binary.AppendUvarint(nil,
			SchemaVersion))
	})
	if err == nil {
		err = s.db.Sync()
	}
	if err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}
	return nil
}

// readIndex reads what Write needs to know: the number of gaps and each
// log's layout. It returns the sequence number of the last batch applied.
func (s *Store) readIndex() (uint64, error) {
	var applied uint64
	err := s.db.View(func(txn *bdb.Txn) error {
		var err error
		if applied, err = readApplied(txn); err != nil {
			return err
		}
		if s.cut, err = readSampleCut(txn); err != nil {
			return err
		}
		if err := s.countGaps(txn); err != nil {
			return err
		}
		if err := s.readLayouts(txn); err != nil {
			return err
		}
		for id, st := range s.logs {
			s.counts[id] = st.count
		}
		return nil
	})
	return applied, err
}

// readApplied returns the sequence number of the last batch applied, 0
// in a store without one.
func readApplied(txn *bdb.Txn) (uint64, error) {
	item, err := txn.Get(appliedKey)
	switch {
	case errors.Is(err, bdb.ErrKeyNotFound):
		return 0, nil
	case err != nil:
		return 0, err
	}
	var applied uint64
	err = item.Value(func(v []byte) error {
		d := decoder{b: v}
		applied = d.uvarint()
		return d.end()
	})
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", base.ErrCorrupt,
			keyString(appliedKey), err)
	}
	return applied, nil
}

// countGaps counts the gaps, which must be numbered from 0 without a
// hole.
func (s *Store) countGaps(txn *bdb.Txn) error {
	return iterate(txn, gapPrefix, func(item *bdb.Item) error {
		k := item.Key()
		if len(k) != gapKeyLen ||
			binary.BigEndian.Uint64(k[1:]) != s.gaps {

			return fmt.Errorf("%w: %s: want gap %d",
				base.ErrCorrupt, keyString(k), s.gaps)
		}
		s.gaps++
		return nil
	})
}

// readLayouts reads each log's layout from its segments' keys and
// lengths.
func (s *Store) readLayouts(txn *bdb.Txn) error {
	return iterate(txn, logPrefix, func(item *bdb.Item) error {
		k := item.Key()
		id, start, err := parseLogKey(k)
		if err != nil {
			return err
		}
		var n uint64
		err = item.Value(func(v []byte) error {
			d := decoder{b: v}
			n = d.segmentLen()
			return d.err
		})
		if err != nil {
			return fmt.Errorf("%w: %s: %w", base.ErrCorrupt,
				keyString(k), err)
		}
		st := s.logs[id]
		if st == nil {
			st = &logState{}
			s.logs[id] = st
		}
		if start != st.count {
			return fmt.Errorf("%w: %s: segment starts at %d, log "+
				"holds %d", base.ErrCorrupt, keyString(k), start,
				st.count)
		}
		if len(st.loose) == 0 && n == chunkEvents {
			st.sealed += n
		} else {
			st.loose = append(st.loose, start)
		}
		st.count += n
		return nil
	})
}

func parseLogKey(k []byte) (core.PeerID, uint64, error) {
	var id core.PeerID
	if len(k) != logKeyLen {
		return id, 0, fmt.Errorf("%w: log key %x: want %d bytes",
			base.ErrCorrupt, k, logKeyLen)
	}
	copy(id[:], k[1:34])
	return id, binary.BigEndian.Uint64(k[34:]), nil
}

// Load returns everything stored. Peers, channels and logs are ordered by key (peer id bytes; txid
// bytes, then output index); times are in UTC. A value that does not
// decode fails Load with an error wrapping base.ErrCorrupt that names its key.
func (s *Store) Load(ctx context.Context) (*core.StoredState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("load store %q: %w", s.dir,
			base.ErrClosed)
	}
	txn, ix, err := s.snapshot()
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("load store %q: %w", s.dir, err)
	}
	defer txn.Discard()
	st := &core.StoredState{}
	if err := ix.load(ctx, txn, st); err != nil {
		return nil, fmt.Errorf("load store %q: %w", s.dir, err)
	}
	return st, nil
}

// index is what load checks a history against: the number of gaps and
// each peer's log length, as the store laid them out.
type index struct {
	gaps   uint64
	counts map[core.PeerID]uint64
}

// snapshot folds the recent batches and returns a read transaction on
// the history, with its index. The caller holds s.mu; the transaction
// and the index do not need it, so that a long read (a backup of a
// large history) does not hold up Writes.
func (s *Store) snapshot() (*bdb.Txn, index, error) {
	if err := s.fold(); err != nil {
		return nil, index{}, err
	}
	ix := index{gaps: s.gaps,
		counts: make(map[core.PeerID]uint64, len(s.logs))}
	for id, st := range s.logs {
		ix.counts[id] = st.count
	}
	return s.db.NewTransaction(false), ix, nil
}

// load reads the whole history in txn into st, by record kind.
func (ix index) load(ctx context.Context, txn *bdb.Txn,
	st *core.StoredState) error {

	steps := []func(*bdb.Txn, *core.StoredState) error{
		loadMeta, ix.loadGaps, loadPeers, loadChannels, loadAlerts,
		ix.loadLogs,
	}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := step(txn, st); err != nil {
			return err
		}
	}
	return nil
}

// loadMeta reads the meta record, if there is one.
func loadMeta(txn *bdb.Txn, st *core.StoredState) error {
	item, err := txn.Get(metaKey)
	switch {
	case err == nil:
		return decodeValue(item, func(d *decoder) {
			st.Meta = d.meta()
		})
	case !errors.Is(err, bdb.ErrKeyNotFound):
		return err
	}
	return nil
}

// loadGaps reads the gaps in order.
func (ix index) loadGaps(txn *bdb.Txn, st *core.StoredState) error {
	st.Gaps = make([]core.Gap, 0, ix.gaps)
	return iterate(txn, gapPrefix, func(item *bdb.Item) error {
		return decodeValue(item, func(d *decoder) {
			st.Gaps = append(st.Gaps, d.gap())
		})
	})
}

// loadPeers reads the peer records.
func loadPeers(txn *bdb.Txn, st *core.StoredState) error {
	return iterate(txn, peerPrefix, func(item *bdb.Item) error {
		k := item.Key()
		if len(k) != peerKeyLen {
			return fmt.Errorf("%w: %s: bad key length", base.ErrCorrupt,
				keyString(k))
		}
		var id core.PeerID
		copy(id[:], k[1:])
		return decodeValue(item, func(d *decoder) {
			st.Peers = append(st.Peers, d.peer(id))
		})
	})
}

// loadChannels reads the channel records.
func loadChannels(txn *bdb.Txn, st *core.StoredState) error {
	return iterate(txn, channelPrefix, func(item *bdb.Item) error {
		k := item.Key()
		if len(k) != channelKeyLen {
			return fmt.Errorf("%w: %s: bad key length", base.ErrCorrupt,
				keyString(k))
		}
		var cp core.ChannelPoint
		copy(cp.Txid[:], k[1:33])
		cp.Index = binary.BigEndian.Uint32(k[33:])
		return decodeValue(item, func(d *decoder) {
			st.Channels = append(st.Channels, d.channel(cp))
		})
	})
}

// loadAlerts reads the alert records.
func loadAlerts(txn *bdb.Txn, st *core.StoredState) error {
	return iterate(txn, alertPrefix, func(item *bdb.Item) error {
		key := string(item.Key()[1:])
		return decodeValue(item, func(d *decoder) {
			st.Alerts = append(st.Alerts, d.alert(key))
		})
	})
}

// loadLogs reads every peer's log, segment by segment, and checks that
// each is whole: no segment missing in the middle or at the end.
func (ix index) loadLogs(txn *bdb.Txn, st *core.StoredState) error {
	var cur *core.PeerLog
	err := iterate(txn, logPrefix, func(item *bdb.Item) error {
		k := item.Key()
		id, start, err := parseLogKey(k)
		if err != nil {
			return err
		}
		if cur == nil || cur.Peer != id {
			st.Logs = append(st.Logs, core.PeerLog{Peer: id})
			cur = &st.Logs[len(st.Logs)-1]
			if n, ok := ix.counts[id]; ok {
				cur.Events = make([]core.LogEvent, 0, n)
			}
		}
		if start != uint64(len(cur.Events)) {
			return fmt.Errorf("%w: %s: segment starts at %d, log "+
				"holds %d", base.ErrCorrupt, keyString(k), start,
				len(cur.Events))
		}
		return decodeValue(item, func(d *decoder) {
			cur.Events = d.segment(cur.Events)
		})
	})
	if err != nil {
		return err
	}
	if err := loadSamples(txn, st); err != nil {
		return err
	}
	for i := range st.Logs {
		// A log whose last segments are gone is as corrupt as one with
		// a hole.
		l := &st.Logs[i]
		if n, ok := ix.counts[l.Peer]; ok &&
			uint64(len(l.Events)) != n {

			return fmt.Errorf("%w: log of peer %v: %d events "+
				"stored, want %d", base.ErrCorrupt, l.Peer,
				len(l.Events), n)
		}
	}
	return nil
}

// loadSamples reads the samples at or after the sample cut, and the filled
// spans.
func loadSamples(txn *bdb.Txn, st *core.StoredState) error {
	cut, err := readSampleCut(txn)
	if err != nil {
		return err
	}
	err = iterate(txn, samplePrefix, func(item *bdb.Item) error {
		k := item.Key()
		if len(k) != sampleKeyLen {
			return fmt.Errorf("%w: %s: bad key length", base.ErrCorrupt,
				keyString(k))
		}
		t := sampleKeyTime(k)
		if t.Before(cut) {
			return nil
		}
		return decodeValue(item, func(d *decoder) {
			st.Samples = append(st.Samples, d.sample(t))
		})
	})
	if err != nil {
		return err
	}
	return iterate(txn, filledPrefix, func(item *bdb.Item) error {
		if len(item.Key()) != filledKeyLen {
			return fmt.Errorf("%w: %s: bad key length", base.ErrCorrupt,
				keyString(item.Key()))
		}
		return decodeValue(item, func(d *decoder) {
			st.Filled = append(st.Filled, d.filled())
		})
	})
}

// iterate calls fn for every key with the prefix, in key order.
func iterate(txn *bdb.Txn, prefix byte, fn func(*bdb.Item) error) error {
	opts := bdb.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = []byte{prefix}
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := fn(it.Item()); err != nil {
			return err
		}
	}
	return nil
}

// decodeValue runs read on the item's value, which read must consume
// whole. Whatever read keeps is copied out of the value.
func decodeValue(item *bdb.Item, read func(*decoder)) error {
	err := item.Value(func(v []byte) error {
		d := decoder{b: v}
		read(&d)
		return d.end()
	})
	switch {
	case errors.Is(err, errDecode):
		return fmt.Errorf("%w: %s: %w", base.ErrCorrupt,
			keyString(item.Key()), err)
	case err != nil:
		return fmt.Errorf("read %s: %w", keyString(item.Key()), err)
	}
	return nil
}
