package badgerstore

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	bdb "github.com/dgraph-io/badger/v4"
)

const (
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

// group is the net effect of consecutive batches.
type group struct {
	meta     *core.Meta
	gaps     []core.Gap
	peers    map[core.PeerID]core.PeerRecord
	channels map[core.ChannelPoint]*core.ChannelRecord // nil: delete
	logs     map[core.PeerID][]core.LogEvent
	alerts   map[string]*core.AlertRecord // nil: delete
	lsn      uint64
}

func (g *group) add(b *core.Batch) {
	if b.Meta != nil {
		g.meta = b.Meta
	}
	g.gaps = append(g.gaps, b.Gaps...)
	for _, p := range b.Peers {
		g.peers[p.Peer] = p
	}
	for i := range b.Channels {
		g.channels[b.Channels[i].Point] = &b.Channels[i]
	}
	for _, cp := range b.DeleteChannels {
		g.channels[cp] = nil
	}
	for _, l := range b.Logs {
		if len(l.Events) > 0 {
			g.logs[l.Peer] = append(g.logs[l.Peer], l.Events...)
		}
	}
	for i := range b.Alerts {
		g.alerts[b.Alerts[i].Key] = &b.Alerts[i]
	}
	for _, k := range b.DeleteAlerts {
		g.alerts[k] = nil
	}
}

// apply writes b, with sequence number lsn, in one badger transaction,
// which also records lsn. Nothing of b is applied when it fails.
func (s *Store) apply(b *core.Batch, lsn uint64) error {
	g := group{
		peers: make(map[core.PeerID]core.PeerRecord, len(b.Peers)),
		channels: make(map[core.ChannelPoint]*core.ChannelRecord,
			len(b.Channels)+len(b.DeleteChannels)),
		logs: make(map[core.PeerID][]core.LogEvent, len(b.Logs)),
		alerts: make(map[string]*core.AlertRecord,
			len(b.Alerts)+len(b.DeleteAlerts)),
		lsn: lsn,
	}
	g.add(b)

	w := txnWriter{txn: s.db.NewTransaction(true)}
	defer w.txn.Discard()
	if err := w.records(&g, s.gaps); err != nil {
		return err
	}
	if err := w.alerts(&g); err != nil {
		return err
	}
	if err := w.samples(b, lsn); err != nil {
		return err
	}
	states, err := w.logs(&g, s.logs)
	if err != nil {
		return err
	}
	if err := w.set(appliedKey, func(e *encoder) {
		e.uvarint(g.lsn)
	}); err != nil {
		return err
	}
	if err := w.txn.Commit(); err != nil {
		if errors.Is(err, bdb.ErrTxnTooBig) {
			err = fmt.Errorf("%w: %w", ErrBatchTooLarge, err)
		}
		return fmt.Errorf("commit batch %d: %w", g.lsn, err)
	}

	s.gaps += uint64(len(g.gaps))
	maps.Copy(s.logs, states)
	if !b.DeleteSamplesBefore.IsZero() {
		s.dropSamples(b.DeleteSamplesBefore)
	}
	return nil
}

// txnWriter sets records in one transaction, counting their bytes so that
// the transaction stays within maxBatchBytes.
type txnWriter struct {
	txn  *bdb.Txn
	e    encoder
	size int
}

// set sets k to what write encodes.
func (w *txnWriter) set(k []byte, write func(*encoder)) error {
	w.e.b = nil
	write(&w.e)
	if w.size += len(k) + len(w.e.b); w.size > maxBatchBytes {
		return fmt.Errorf("%w: more than %d bytes", ErrBatchTooLarge,
			maxBatchBytes)
	}
	if err := w.txn.Set(k, w.e.b); err != nil {
		if errors.Is(err, bdb.ErrTxnTooBig) {
			err = fmt.Errorf("%w: %w", ErrBatchTooLarge, err)
		}
		return fmt.Errorf("set %s: %w", keyString(k), err)
	}
	return nil
}

// records sets g's meta, gaps (numbered from gaps on), peer and channel
// records, and deletes the channels g deletes.
func (w *txnWriter) records(g *group, gaps uint64) error {
	if g.meta != nil {
		if err := w.set(metaKey, func(e *encoder) {
			e.meta(g.meta)
		}); err != nil {
			return err
		}
	}
	for i := range g.gaps {
		if err := w.set(gapKey(gaps+uint64(i)), func(e *encoder) {
			e.gap(&g.gaps[i])
		}); err != nil {
			return err
		}
	}
	for id, p := range g.peers {
		if err := w.set(peerKey(id), func(e *encoder) {
			e.peer(&p)
		}); err != nil {
			return err
		}
	}
	for cp, c := range g.channels {
		var err error
		if c == nil {
			err = w.txn.Delete(channelKey(cp))
		} else {
			err = w.set(channelKey(cp), func(e *encoder) {
				e.channel(c)
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// samples sets b's samples, filled spans and sample cut; lsn numbers
// them.
func (w *txnWriter) samples(b *core.Batch, lsn uint64) error {
	if cut := b.DeleteSamplesBefore; !cut.IsZero() {
		if err := w.set(sampleCutKey, func(e *encoder) {
			e.byte(recordVersion)
			e.time(cut)
		}); err != nil {
			return err
		}
	}
	for i := range b.Samples {
		p := &b.Samples[i]
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

// alerts sets and deletes g's alert records.
func (w *txnWriter) alerts(g *group) error {
	for k, a := range g.alerts {
		var err error
		if a == nil {
			err = w.txn.Delete(alertKey(k))
		} else {
			err = w.set(alertKey(k), func(e *encoder) {
				e.alert(a)
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// logs sets g's log events as one new loose segment per peer, after the
// layouts in cur, and returns the peers' layouts once the transaction
// commits (cur itself is left alone).
func (w *txnWriter) logs(g *group, cur map[core.PeerID]*logState) (
	map[core.PeerID]*logState, error) {

	states := make(map[core.PeerID]*logState, len(g.logs))
	for id, evs := range g.logs {
		st := &logState{}
		if old := cur[id]; old != nil {
			*st = *old
			st.loose = slices.Clip(st.loose)
		}
		if err := w.set(logKey(id, st.count), func(e *encoder) {
			e.segment(evs)
		}); err != nil {
			return nil, err
		}
		st.loose = append(st.loose, st.count)
		st.count += uint64(len(evs))
		states[id] = st
	}
	return states, nil
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
