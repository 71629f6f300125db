package badgerstore

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	bdb "github.com/dgraph-io/badger/v4"
)

const (
	// entryOverhead is about what badger adds to each entry it writes.
	entryOverhead = 48

	// chunkEvents is the number of events of a full log chunk.
	chunkEvents = 1024

	// maxLoose is the number of small segments a peer's log may have
	// after its full chunks before they are packed together.
	maxLoose = 32

	// packStepEvents bounds the events one packing transaction reads.
	packStepEvents = 64 * chunkEvents
)

// logState is the layout of a peer's log in badger: full chunks of
// chunkEvents events from seq 0 to sealed, then loose segments starting at
// the seqs in loose, up to count.
type logState struct {
	count  uint64
	sealed uint64
	loose  []uint64

	// stuck is set when packing failed (a damaged segment): the peer's
	// log is not packed again until the store is reopened.
	stuck bool
}

func (st *logState) needsPacking() bool {
	return !st.stuck && (len(st.loose) > maxLoose ||
		st.count-st.sealed >= chunkEvents)
}

// apply writes b, with sequence number lsn, in one badger transaction,
// which also records lsn. Nothing of b is applied when it fails. Within
// b, a later record of a key replaces an earlier one (the transaction
// keeps the last write of each key), and a deletion of a channel or an
// alert wins over a record of it, as every store does.
func (s *Store) apply(b *core.Batch, lsn uint64) error {
	w := txnWriter{txn: s.db.NewTransaction(true)}
	defer w.txn.Discard()
	w.e.b = make([]byte, 0, valueBytes(b))
	if err := w.records(b, s.gaps); err != nil {
		return err
	}
	if err := w.alerts(b); err != nil {
		return err
	}
	if err := w.samples(b, lsn, s.cut); err != nil {
		return err
	}
	clear(s.staged)
	if err := w.logs(b, s.logs, s.staged); err != nil {
		return err
	}
	if err := w.set(appliedKey, func(e *encoder) {
		e.uvarint(lsn)
	}); err != nil {
		return err
	}
	if err := w.txn.Commit(); err != nil {
		if errors.Is(err, bdb.ErrTxnTooBig) {
			err = fmt.Errorf("%w: %w", ErrBatchTooLarge, err)
		}
		return fmt.Errorf("commit batch %d: %w", lsn, err)
	}

	s.gaps += uint64(len(b.Gaps))
	if !b.DeleteSamplesBefore.IsZero() {
		s.cut = b.DeleteSamplesBefore
		s.dropSamples(b.DeleteSamplesBefore)
	}
	for id, st := range s.staged {
		if old := s.logs[id]; old != nil {
			*old = st
		} else {
			s.logs[id] = &st
		}
	}
	// Each entry costs badger a header, a version and a checksum
	// beyond its key and value.
	s.room -= int64(w.size + entryOverhead*w.entries)
	return nil
}

// valueBytes is about the bytes b's values encode to, so that one buffer
// holds them all.
func valueBytes(b *core.Batch) int {
	n := 64 + 64*len(b.Gaps) + 160*len(b.Peers) + 192*len(b.Channels) +
		64*len(b.Alerts)
	for i := range b.Logs {
		n += 16 + 12*len(b.Logs[i].Events)
	}
	return n
}

// txnWriter sets records in one transaction, counting their bytes so that
// the transaction stays within maxBatchBytes. The values are encoded one
// after another into e.b, which the transaction holds until it ends.
type txnWriter struct {
	txn     *bdb.Txn
	e       encoder
	size    int
	entries int
}

// set sets k to what write encodes.
func (w *txnWriter) set(k []byte, write func(*encoder)) error {
	start := len(w.e.b)
	write(&w.e)
	v := w.e.b[start:len(w.e.b):len(w.e.b)]
	if w.size += len(k) + len(v); w.size > maxBatchBytes {
		return fmt.Errorf("%w: more than %d bytes", ErrBatchTooLarge,
			maxBatchBytes)
	}
	w.entries++
	if err := w.txn.Set(k, v); err != nil {
		if errors.Is(err, bdb.ErrTxnTooBig) {
			err = fmt.Errorf("%w: %w", ErrBatchTooLarge, err)
		}
		return fmt.Errorf("set %s: %w", keyString(k), err)
	}
	return nil
}

// delete deletes k.
func (w *txnWriter) delete(k []byte) error {
	w.entries++
	return w.txn.Delete(k)
}

// records sets b's meta, gaps (numbered from gaps on), peer and channel
// records, and deletes the channels b deletes.
func (w *txnWriter) records(b *core.Batch, gaps uint64) error {
	if b.Meta != nil {
		if err := w.set(metaKey, func(e *encoder) {
			e.meta(b.Meta)
		}); err != nil {
			return err
		}
	}
	for i := range b.Gaps {
		if err := w.set(gapKey(gaps+uint64(i)), func(e *encoder) {
			e.gap(&b.Gaps[i])
		}); err != nil {
			return err
		}
	}
	for i := range b.Peers {
		p := &b.Peers[i]
		if err := w.set(peerKey(p.Peer), func(e *encoder) {
			e.peer(p)
		}); err != nil {
			return err
		}
	}
	for i := range b.Channels {
		c := &b.Channels[i]
		if err := w.set(channelKey(c.Point), func(e *encoder) {
			e.channel(c)
		}); err != nil {
			return err
		}
	}
	for _, cp := range b.DeleteChannels {
		if err := w.delete(channelKey(cp)); err != nil {
			return err
		}
	}
	return nil
}

// samples sets b's samples, filled spans and sample cut; lsn numbers
// them. A sample older than the cut that holds after b (b's own, else
// cut) is not written: a later cut further back must not bring it back.
func (w *txnWriter) samples(b *core.Batch, lsn uint64,
	cut time.Time) error {

	if c := b.DeleteSamplesBefore; !c.IsZero() {
		cut = c
		if err := w.set(sampleCutKey, func(e *encoder) {
			e.byte(recordVersion)
			e.time(c)
		}); err != nil {
			return err
		}
	}
	for i := range b.Samples {
		p := &b.Samples[i]
		if p.Time.Before(cut) {
			continue
		}
		if err := w.set(sampleKey(p.Time, lsn, uint32(i)),
			func(e *encoder) { e.sample(p) }); err != nil {
			return err
		}
	}
	for i := range b.Filled {
		if err := w.set(filledKey(lsn, uint32(i)), func(e *encoder) {
			e.filled(&b.Filled[i])
		}); err != nil {
			return err
		}
	}
	return nil
}

// maxDropSamples bounds the samples one write deletes; Load skips older
// ones left behind, and the next cut deletes more.
const maxDropSamples = 10000

// dropSamples deletes samples older than cut once the cut is committed.
// It is tidying only: a failure is logged.
func (s *Store) dropSamples(cut time.Time) {
	end := sampleKey(cut, 0, 0)
	var keys [][]byte
	err := s.db.View(func(txn *bdb.Txn) error {
		return iterate(txn, samplePrefix, func(item *bdb.Item) error {
			k := item.Key()
			if bytes.Compare(k, end) >= 0 ||
				len(keys) == maxDropSamples {

				return errStopIter
			}
			keys = append(keys, item.KeyCopy(nil))
			return nil
		})
	})
	if err != nil && !errors.Is(err, errStopIter) {
		s.log.Warnf("store %q: delete old samples: %v", s.dir, err)
		return
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			s.log.Warnf("store %q: delete old samples: %v", s.dir,
				err)
			return
		}
	}
	if err := wb.Flush(); err != nil {
		s.log.Warnf("store %q: delete old samples: %v", s.dir, err)
	}
}

// errStopIter ends an iteration early.
var errStopIter = errors.New("stop")

// alerts sets and deletes b's alert records.
func (w *txnWriter) alerts(b *core.Batch) error {
	for i := range b.Alerts {
		a := &b.Alerts[i]
		if err := w.set(alertKey(a.Key), func(e *encoder) {
			e.alert(a)
		}); err != nil {
			return err
		}
	}
	for _, k := range b.DeleteAlerts {
		if err := w.delete(alertKey(k)); err != nil {
			return err
		}
	}
	return nil
}

// logs sets b's log runs, each as a new loose segment after the peer's
// layout in cur, and puts into staged the layouts they make once the
// transaction commits. cur itself is left alone: a layout's loose list
// may grow into spare capacity it shares with cur, beyond cur's length.
func (w *txnWriter) logs(b *core.Batch, cur map[core.PeerID]*logState,
	staged map[core.PeerID]logState) error {

	for i := range b.Logs {
		l := &b.Logs[i]
		if len(l.Events) == 0 {
			continue
		}
		st, ok := staged[l.Peer]
		if !ok {
			if old := cur[l.Peer]; old != nil {
				st = *old
			}
		}
		if err := w.set(logKey(l.Peer, st.count), func(e *encoder) {
			e.segment(l.Events)
		}); err != nil {
			return err
		}
		st.loose = append(st.loose, st.count)
		st.count += uint64(len(l.Events))
		staged[l.Peer] = st
	}
	return nil
}

// pack rewrites the logs that have too many loose segments as full chunks
// and at most one loose segment. Packing leaves a log's content alone, so
// each peer is packed in a transaction of its own and a failure is only
// logged.
func (s *Store) pack() {
	for id, st := range s.logs {
		if !st.needsPacking() {
			continue
		}
		if err := s.packPeer(id, st); err != nil {
			st.stuck = true
			s.log.Errorf("store %q: pack log of peer %v: %v", s.dir,
				id, err)
		}
	}
}

func (s *Store) packPeer(id core.PeerID, st *logState) error {
	for st.needsPacking() {
		if err := s.packStep(id, st); err != nil {
			return err
		}
	}
	return nil
}

// packStep rewrites the first loose segments of a log, about
// packStepEvents events at most (so that the transaction stays small), as
// full chunks and at most one loose segment.
func (s *Store) packStep(id core.PeerID, st *logState) error {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()

	var evs []core.LogEvent
	used := 0
	for _, start := range st.loose {
		if len(evs) >= packStepEvents {
			break
		}
		k := logKey(id, start)
		if uint64(len(evs)) != start-st.sealed {
			return fmt.Errorf("%w: %s: segment starts at %d, log "+
				"holds %d", base.ErrCorrupt, keyString(k), start,
				st.sealed+uint64(len(evs)))
		}
		item, err := txn.Get(k)
		if err != nil {
			return fmt.Errorf("get %s: %w", keyString(k), err)
		}
		err = item.Value(func(v []byte) error {
			d := decoder{b: v}
			evs = d.segment(evs)
			return d.end()
		})
		if err != nil {
			return fmt.Errorf("%w: %s: %w", base.ErrCorrupt,
				keyString(k), err)
		}
		if err := txn.Delete(k); err != nil {
			return err
		}
		used++
	}
	end := st.sealed + uint64(len(evs))
	next := st.count
	if used < len(st.loose) {
		next = st.loose[used]
	}
	if end != next {
		return fmt.Errorf("%w: log of peer %v: segments from %d "+
			"hold %d events, want %d", base.ErrCorrupt, id, st.sealed,
			len(evs), next-st.sealed)
	}

	start, rest := st.sealed, evs
	var loose []uint64
	for len(rest) > 0 {
		n := min(len(rest), chunkEvents)
		var e encoder
		e.segment(rest[:n])
		if err := txn.Set(logKey(id, start), e.b); err != nil {
			return err
		}
		if n < chunkEvents {
			loose = []uint64{start}
		}
		start += uint64(n)
		rest = rest[n:]
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	st.sealed = end
	if loose != nil {
		st.sealed = loose[0]
	}
	st.loose = append(loose, st.loose[used:]...)
	return nil
}
