package badgerstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	bdb "github.com/dgraph-io/badger/v4"
)

// Recent batches. Most Writes carry one event: a peer record and one log
// event. Writing those under their own keys costs badger three entries
// per Write (the record, a log segment, the applied mark), and each entry
// is an insert into badger's memtable. Instead a small batch is written
// whole, encoded, as one entry: a slot of a ring of ringSlots keys, slot
// lsn mod ringSlots, whose value starts with the batch's sequence number.
// fold later writes the recent batches, merged, to their records' keys
// and moves the applied mark past them, in one transaction per
// foldChunkBytes. A slot is reused only after its batch was folded: fold
// runs before ringSlots/2 batches wait.
//
// Open reads the slots and keeps those after the applied mark; they must
// number applied+1, applied+2, ... without a hole. Every reader of the
// records' keys (Load, backups, packing) folds first.
const (
	ringPrefix = 'r'
	ringKeyLen = 1 + 2
	ringSlots  = 1 << 13

	// foldBatches and foldBytes make a Write fold first: that many
	// batches, or that many bytes of them, wait.
	foldBatches = ringSlots / 2
	foldBytes   = 1 << 20

	// foldChunkBytes bounds the recent batches one fold transaction
	// takes, so that it stays within maxBatchBytes and maxBatchEntries.
	foldChunkBytes = 256 << 10

	// ringMaxEntries and ringMaxBytes bound a batch written as a recent
	// batch; a larger one, or one with alerts or a sample cut, is
	// written to its records' keys at once, after a fold.
	ringMaxEntries = 64
	ringMaxBytes   = 8 << 10
)

func ringKey(lsn uint64) []byte {
	k := make([]byte, ringKeyLen)
	k[0] = ringPrefix
	binary.BigEndian.PutUint16(k[1:], uint16(lsn%ringSlots))
	return k
}

// recent holds the batches written to the ring and not yet folded, as
// the values written: batch lsn first+i is buf[ends[i-1]:ends[i]].
type recent struct {
	buf   []byte
	ends  []int
	first uint64
}

func (r *recent) len() int {
	return len(r.ends)
}

func (r *recent) value(i int) []byte {
	start := 0
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.buf[start:r.ends[i]]
}

// ringable reports whether b may be written as a recent batch.
func ringable(b *core.Batch) bool {
	return len(b.Alerts) == 0 && len(b.DeleteAlerts) == 0 &&
		b.DeleteSamplesBefore.IsZero() &&
		batchEntries(b) <= ringMaxEntries &&
		valueBytes(b) <= ringMaxBytes
}

// writeRecent writes b, with sequence number lsn, as one recent batch in
// one badger transaction. Nothing is written when it fails.
func (s *Store) writeRecent(b *core.Batch, lsn uint64) error {
	start := len(s.recent.buf)
	e := encoder{b: s.recent.buf}
	e.byte(recordVersion)
	e.uvarint(lsn)
	e.batch(b)
	s.recent.buf = e.b[:start]
	v := e.b[start:len(e.b):len(e.b)]
	k := ringKey(lsn)

	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	if err := txn.Set(k, v); err != nil {
		return fmt.Errorf("set %s: %w", keyString(k), err)
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("commit batch %d: %w", lsn, err)
	}
	if s.recent.len() == 0 {
		s.recent.first = lsn
	}
	s.recent.buf = e.b
	s.recent.ends = append(s.recent.ends, len(e.b))
	s.room -= int64(len(k) + len(v) + entryOverhead)
	return nil
}

// fold writes the recent batches to their records' keys. On failure the
// batches not folded stay recent.
func (s *Store) fold() error {
	for s.recent.len() > 0 {
		if err := s.foldChunk(); err != nil {
			return err
		}
	}
	s.recent.buf = s.recent.buf[:0]
	s.recent.ends = s.recent.ends[:0]
	return nil
}

// foldChunk folds the first recent batches, about foldChunkBytes of them,
// in one transaction.
func (s *Store) foldChunk() error {
	var m merger
	n := 0
	size := 0
	for n < s.recent.len() && (n == 0 || size < foldChunkBytes) {
		v := s.recent.value(n)
		lsn := s.recent.first + uint64(n)
		if err := m.add(v, lsn); err != nil {
			return fmt.Errorf("%w: %s: %w", base.ErrCorrupt,
				keyString(ringKey(lsn)), err)
		}
		size += len(v)
		n++
	}
	last := s.recent.first + uint64(n) - 1
	if err := m.checkLogs(s.logs); err != nil {
		return err
	}
	if err := s.apply(m.batch(), last); err != nil {
		return fmt.Errorf("fold batches %d-%d: %w", s.recent.first,
			last, err)
	}
	// Keep the rest at the start of buf.
	off := s.recent.ends[n-1]
	s.recent.first = last + 1
	s.recent.buf = s.recent.buf[:copy(s.recent.buf, s.recent.buf[off:])]
	s.recent.ends = s.recent.ends[:copy(s.recent.ends,
		s.recent.ends[n:])]
	for i := range s.recent.ends {
		s.recent.ends[i] -= off
	}
	return nil
}

// merger merges batches, in order, into one batch b whose application
// leaves the records as applying them one by one would: the last record
// of a key wins, whether a channel is deleted depends on its last write,
// and log runs of one peer are joined. A batch with a sample cut is never
// a recent batch: the cuts of merged batches would not delete what the
// same cuts one by one delete.
type merger struct {
	b     core.Batch
	peers map[core.PeerID]int
	logs  map[core.PeerID]int

	// chans holds the last write of each channel, in order of first
	// write: a record, or a deletion (deleted).
	chans    map[core.ChannelPoint]int
	chanList []chanWrite
}

type chanWrite struct {
	rec     core.ChannelRecord
	deleted bool
}

// add decodes the recent batch value v, which must have sequence number
// lsn, and merges it.
func (m *merger) add(v []byte, lsn uint64) error {
	d := decoder{b: v}
	d.version()
	if got := d.uvarint(); d.err == nil && got != lsn {
		return fmt.Errorf("holds batch %d, want %d", got, lsn)
	}
	var b core.Batch
	d.batch(&b)
	if err := d.end(); err != nil {
		return err
	}
	if m.peers == nil {
		m.peers = make(map[core.PeerID]int)
		m.logs = make(map[core.PeerID]int)
		m.chans = make(map[core.ChannelPoint]int)
	}
	if b.Meta != nil {
		m.b.Meta = b.Meta
	}
	m.b.Gaps = append(m.b.Gaps, b.Gaps...)
	for _, p := range b.Peers {
		m.b.Peers = upsert(m.b.Peers, m.peers, p.Peer, p)
	}
	for _, c := range b.Channels {
		m.chanList = upsert(m.chanList, m.chans, c.Point,
			chanWrite{rec: c})
	}
	for _, cp := range b.DeleteChannels {
		m.chanList = upsert(m.chanList, m.chans, cp,
			chanWrite{rec: core.ChannelRecord{Point: cp},
				deleted: true})
	}
	for _, l := range b.Logs {
		if err := m.addLog(l); err != nil {
			return err
		}
	}
	if !b.DeleteSamplesBefore.IsZero() {
		return errors.New("a sample cut in a recent batch")
	}
	m.b.Samples = append(m.b.Samples, b.Samples...)
	m.b.Filled = append(m.b.Filled, b.Filled...)
	return nil
}

// batch returns the merged batch.
func (m *merger) batch() *core.Batch {
	m.b.Channels = m.b.Channels[:0]
	m.b.DeleteChannels = m.b.DeleteChannels[:0]
	for _, w := range m.chanList {
		if w.deleted {
			m.b.DeleteChannels = append(m.b.DeleteChannels,
				w.rec.Point)
		} else {
			m.b.Channels = append(m.b.Channels, w.rec)
		}
	}
	return &m.b
}

func (m *merger) addLog(l core.PeerLog) error {
	if len(l.Events) == 0 {
		return nil
	}
	i, ok := m.logs[l.Peer]
	if !ok {
		m.logs[l.Peer] = len(m.b.Logs)
		m.b.Logs = append(m.b.Logs, l)
		return nil
	}
	cur := &m.b.Logs[i]
	if want := cur.Seq + uint64(len(cur.Events)); l.Seq != want {
		return fmt.Errorf("log of peer %v starts at %d, want %d",
			l.Peer, l.Seq, want)
	}
	cur.Events = append(cur.Events, l.Events...)
	return nil
}

// checkLogs checks that each merged log run continues its peer's log as
// laid out in badger.
func (m *merger) checkLogs(layouts map[core.PeerID]*logState) error {
	for i := range m.b.Logs {
		l := &m.b.Logs[i]
		var have uint64
		if st := layouts[l.Peer]; st != nil {
			have = st.count
		}
		if l.Seq != have {
			return fmt.Errorf("%w: recent log of peer %v starts at "+
				"%d, log holds %d", base.ErrCorrupt, l.Peer, l.Seq,
				have)
		}
	}
	return nil
}

// upsert sets the element of key k in list (indexed by idx) to v,
// appending it when there is none.
func upsert[K comparable, V any](list []V, idx map[K]int, k K, v V) []V {
	if i, ok := idx[k]; ok {
		list[i] = v
		return list
	}
	idx[k] = len(list)
	return append(list, v)
}

// readRecent reads the recent batches after applied from the ring, in
// order, and counts their log events. It returns the sequence number of
// the last one (applied when there is none).
func (s *Store) readRecent(applied uint64) (uint64, error) {
	byLSN := make(map[uint64][]byte)
	err := s.db.View(func(txn *bdb.Txn) error {
		return iterate(txn, ringPrefix, func(item *bdb.Item) error {
			k := item.Key()
			return decodeValue(item, func(d *decoder) {
				if len(k) != ringKeyLen {
					d.fail("ring key length")
					return
				}
				v := d.b
				d.version()
				lsn := d.uvarint()
				if d.err == nil && lsn > applied {
					byLSN[lsn] = slices.Clone(v)
				}
				d.off = len(d.b)
			})
		})
	})
	if err != nil {
		return 0, err
	}
	lsn := applied
	for range len(byLSN) {
		v, ok := byLSN[lsn+1]
		if !ok {
			return 0, fmt.Errorf("%w: %s: batch %d missing, the ring "+
				"holds %d batches after %d", base.ErrCorrupt,
				keyString(ringKey(lsn+1)), lsn+1, len(byLSN), applied)
		}
		if err := s.countRecent(v, lsn+1); err != nil {
			return 0, err
		}
		lsn++
		if s.recent.len() == 0 {
			s.recent.first = lsn
		}
		s.recent.buf = append(s.recent.buf, v...)
		s.recent.ends = append(s.recent.ends, len(s.recent.buf))
	}
	return lsn, nil
}

// countRecent checks the recent batch v and adds its log events to the
// peers' counts.
func (s *Store) countRecent(v []byte, lsn uint64) error {
	var m merger
	if err := m.add(v, lsn); err != nil {
		return fmt.Errorf("%w: %s: %w", base.ErrCorrupt,
			keyString(ringKey(lsn)), err)
	}
	for _, l := range m.b.Logs {
		if l.Seq != s.counts[l.Peer] {
			return fmt.Errorf("%w: %s: log of peer %v starts at %d, "+
				"log holds %d", base.ErrCorrupt,
				keyString(ringKey(lsn)), l.Peer, l.Seq,
				s.counts[l.Peer])
		}
		s.counts[l.Peer] += uint64(len(l.Events))
	}
	return nil
}
