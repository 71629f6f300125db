package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The statements of a write; each takes the node as $1 and the rows as
// arrays, so that a batch of any size is one statement per table and
// the whole write one round trip.
const (
	sqlMeta = `UPDATE chanfitness_nodes SET write_token = $2,
		since_s = CASE WHEN $3 THEN $4 ELSE since_s END,
		since_ns = CASE WHEN $3 THEN $5 ELSE since_ns END,
		heartbeat_s = CASE WHEN $3 THEN $6 ELSE heartbeat_s END,
		heartbeat_ns = CASE WHEN $3 THEN $7 ELSE heartbeat_ns END,
		cut_s = CASE WHEN $8 THEN $9 ELSE cut_s END,
		cut_ns = CASE WHEN $8 THEN $10 ELSE cut_ns END
		WHERE node = $1`

	sqlGaps = `INSERT INTO chanfitness_gaps
		(node, n, start_s, start_ns, end_s, end_ns)
		SELECT $1, * FROM unnest($2::bigint[], $3::bigint[],
			$4::integer[], $5::bigint[], $6::integer[])`

	sqlPeers = `INSERT INTO chanfitness_peers (node, peer, tracked_s,
		tracked_ns, online, state_s, state_ns, flaps, flap_s, flap_ns,
		staged_s, staged_ns, staged_state, event_s, event_ns)
		SELECT $1, * FROM unnest($2::bytea[], $3::bigint[],
			$4::integer[], $5::boolean[], $6::bigint[],
			$7::integer[], $8::bigint[], $9::bigint[],
			$10::integer[], $11::bigint[], $12::integer[],
			$13::smallint[], $14::bigint[], $15::integer[])` +
		sqlPeerConflict

	// sqlPeer is sqlPeers for one record, the common write of one
	// event: the server has no arrays to build and expand.
	sqlPeer = `INSERT INTO chanfitness_peers (node, peer, tracked_s,
		tracked_ns, online, state_s, state_ns, flaps, flap_s, flap_ns,
		staged_s, staged_ns, staged_state, event_s, event_ns)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
			$13, $14, $15)` + sqlPeerConflict

	// sqlPeerConflict replaces a stored peer record.
	sqlPeerConflict = `
		ON CONFLICT (node, peer) DO UPDATE SET
		tracked_s = excluded.tracked_s,
		tracked_ns = excluded.tracked_ns, online = excluded.online,
		state_s = excluded.state_s, state_ns = excluded.state_ns,
		flaps = excluded.flaps, flap_s = excluded.flap_s,
		flap_ns = excluded.flap_ns, staged_s = excluded.staged_s,
		staged_ns = excluded.staged_ns,
		staged_state = excluded.staged_state,
		event_s = excluded.event_s, event_ns = excluded.event_ns`

	sqlChannels = `INSERT INTO chanfitness_channels (node, txid, idx,
		peer, scid, opened_s, opened_ns, node_opened_s,
		node_opened_ns, opened_source, funding_height, closed_s,
		closed_ns, frozen)
		SELECT $1, * FROM unnest($2::bytea[], $3::bigint[],
			$4::bytea[], $5::text[], $6::bigint[], $7::integer[],
			$8::bigint[], $9::integer[], $10::smallint[],
			$11::bigint[], $12::bigint[], $13::integer[],
			$14::text[])
		ON CONFLICT (node, txid, idx) DO UPDATE SET
		peer = excluded.peer, scid = excluded.scid,
		opened_s = excluded.opened_s, opened_ns = excluded.opened_ns,
		node_opened_s = excluded.node_opened_s,
		node_opened_ns = excluded.node_opened_ns,
		opened_source = excluded.opened_source,
		funding_height = excluded.funding_height,
		closed_s = excluded.closed_s, closed_ns = excluded.closed_ns,
		frozen = excluded.frozen`

	sqlAlerts = `INSERT INTO chanfitness_alerts (node, key, body,
		created_s, created_ns, pending, attempts, next_s, next_ns)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
		ON CONFLICT (node, key) DO UPDATE SET body = excluded.body,
		created_s = excluded.created_s,
		created_ns = excluded.created_ns, pending = excluded.pending,
		attempts = excluded.attempts, next_s = excluded.next_s,
		next_ns = excluded.next_ns`

	sqlDeleteAlerts = `DELETE FROM chanfitness_alerts WHERE node = $1
		AND key = ANY($2::bytea[])`

	// A sample older than the node's cut (the one this write sets, or
	// the latest before) is not stored.
	sqlSamples = `INSERT INTO chanfitness_samples
		(node, n, peer, t_s, t_ns, kind, rtt)
		SELECT $1, u.* FROM unnest($2::bigint[], $3::bytea[],
			$4::bigint[], $5::integer[], $6::smallint[],
			$7::bigint[]) AS u (n, peer, t_s, t_ns, kind, rtt)
		JOIN chanfitness_nodes c ON c.node = $1
		WHERE c.cut_s IS NULL OR u.t_s > c.cut_s OR
			u.t_s = c.cut_s AND u.t_ns >= c.cut_ns`

	sqlCutSamples = `DELETE FROM chanfitness_samples WHERE node = $1
		AND (t_s < $2 OR t_s = $2 AND t_ns < $3)`

	sqlFilled = `INSERT INTO chanfitness_filled
		(node, n, start_s, start_ns, end_s, end_ns, backfill)
		SELECT $1, * FROM unnest($2::bigint[], $3::bigint[],
			$4::integer[], $5::bigint[], $6::integer[],
			$7::boolean[])`

	sqlDelete = `DELETE FROM chanfitness_channels WHERE node = $1 AND
		(txid, idx) IN (SELECT * FROM unnest($2::bytea[],
			$3::bigint[]))`
)

// Write applies b in one transaction. A log run that does not start
// where its peer's log ends rejects the whole batch. When the server
// cannot be reached it fails at once (within the store's timeout) and the
// next call connects again.
func (s *Store) Write(ctx context.Context, b *core.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("write: %w", base.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.limit)
	defer cancel()
	conn, err := s.ready(ctx, "write")
	if err != nil {
		return err
	}
	if u := s.unsure; u != nil {
		s.unsure = nil
		if u.committed && u.sum == fingerprint(b) {
			// The batch whose commit was in doubt is this one,
			// and it was committed.
			s.log.Infof("a write in doubt had reached %s", s.where)
			s.dirty = true
			return nil
		}
	}
	if err := base.CheckLogs(b, s.count); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if b.Empty() {
		return nil
	}

	s.token++
	q, plan := s.queue(b)
	err = conn.SendBatch(ctx, q).Close()
	if err == nil && s.afterCommit != nil {
		err = s.afterCommit(conn)
	}
	if err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || conn.IsClosed() {
			// The connection broke: the commit may have happened.
			s.unsure = &attempt{token: s.token, sum: fingerprint(b)}
		}
		s.broken(err)
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return s.fail("write", ctx.Err())
		}
		return s.fail("write", err)
	}
	s.apply(plan)
	s.gaps += int64(len(b.Gaps))
	s.samples += int64(len(b.Samples))
	s.filled += int64(len(b.Filled))
	s.dirty = true
	return nil
}

func (s *Store) count(p core.PeerID) uint64 {
	return s.logLen[p]
}

// queue builds the statements of b's transaction, and the plan of its
// log chunks.
func (s *Store) queue(b *core.Batch) (*pgx.Batch, *chunkPlan) {
	q := &pgx.Batch{}
	var m core.Meta
	if b.Meta != nil {
		m = *b.Meta
	}
	since, hb := split(m.MonitoringSince), split(m.Heartbeat)
	cut := split(b.DeleteSamplesBefore)
	q.Queue(sqlMeta, s.node, s.token, b.Meta != nil, since.s, since.ns,
		hb.s, hb.ns, !b.DeleteSamplesBefore.IsZero(), cut.s, cut.ns)

	s.queueGaps(q, b.Gaps)
	if len(b.Peers) > 0 {
		queuePeers(q, s.node, lastPeers(b.Peers))
	}
	plan := s.queueChunks(q, b.Logs)
	if len(b.Channels) > 0 {
		queueChannels(q, s.node, lastChannels(b.Channels))
	}
	queueDeleteChannels(q, s.node, b.DeleteChannels)
	queueAlerts(q, s.node, b.Alerts)
	s.queueSamples(q, b)
	s.queueFilled(q, b.Filled)
	if len(b.DeleteAlerts) > 0 {
		keys := make([][]byte, len(b.DeleteAlerts))
		for i, k := range b.DeleteAlerts {
			keys[i] = []byte(k)
		}
		q.Queue(sqlDeleteAlerts, s.node, keys)
	}
	return q, plan
}

// queueGaps queues the gaps' rows, numbered after those already stored.
func (s *Store) queueGaps(q *pgx.Batch, gaps []core.Gap) {
	if len(gaps) == 0 {
		return
	}
	n := len(gaps)
	ns, ss, sns := make([]int64, n), make([]int64, n),
		make([]int32, n)
	es, ens := make([]int64, n), make([]int32, n)
	for i, g := range gaps {
		st, en := split(g.Start), split(g.End)
		ns[i] = s.gaps + int64(i)
		ss[i], sns[i], es[i], ens[i] = st.s, st.ns, en.s, en.ns
	}
	q.Queue(sqlGaps, s.node, ns, ss, sns, es, ens)
}

// queueDeleteChannels queues the removal of the channels whose retention
// expired.
func queueDeleteChannels(q *pgx.Batch, node []byte,
	del []core.ChannelPoint) {

	if len(del) == 0 {
		return
	}
	n := len(del)
	txids, idx := make([][]byte, n), make([]int64, n)
	for i := range del {
		txids[i] = del[i].Txid[:]
		idx[i] = int64(del[i].Index)
	}
	q.Queue(sqlDelete, node, txids, idx)
}

// queueAlerts queues the alert records. Alerts are few (one per peer and
// event, until delivered): one statement each, in order, so a key written
// twice keeps the last.
func queueAlerts(q *pgx.Batch, node []byte, alerts []core.AlertRecord) {
	for i := range alerts {
		a := &alerts[i]
		cr, nx := split(a.CreatedAt), split(a.NextAttempt)
		body := a.Body
		if body == nil {
			body = []byte{}
		}
		pending := a.Pending
		if pending == nil {
			pending = []string{}
		}
		q.Queue(sqlAlerts, node, []byte(a.Key), body, cr.s, cr.ns,
			pending, int64(a.Attempts), nx.s, nx.ns)
	}
}

// queueSamples queues the batch's samples, numbered after those already
// stored, then its cut of old samples. The cut is the node's from the
// batch's first statement on (see sqlMeta), so the batch's own older
// samples are not stored, nor any older sample of a later batch: Load
// never returns a sample older than the latest cut, across restarts too.
func (s *Store) queueSamples(q *pgx.Batch, b *core.Batch) {
	if len(b.Samples) > 0 {
		n := len(b.Samples)
		ns, peers := make([]int64, n), make([][]byte, n)
		ts, tns := make([]int64, n), make([]int32, n)
		kinds, rtts := make([]int16, n), make([]int64, n)
		for i := range b.Samples {
			x := &b.Samples[i]
			t := split(x.Time)
			ns[i], peers[i] = s.samples+int64(i), x.Peer[:]
			ts[i], tns[i] = t.s, t.ns
			kinds[i], rtts[i] = int16(x.Kind), int64(x.RTT)
		}
		q.Queue(sqlSamples, s.node, ns, peers, ts, tns, kinds, rtts)
	}
	if !b.DeleteSamplesBefore.IsZero() {
		c := split(b.DeleteSamplesBefore)
		q.Queue(sqlCutSamples, s.node, c.s, c.ns)
	}
}

// queueFilled queues the spans filled from the node's own records.
func (s *Store) queueFilled(q *pgx.Batch, filled []core.FilledSpan) {
	if len(filled) == 0 {
		return
	}
	n := len(filled)
	ns, ss, es := make([]int64, n), make([]int64, n),
		make([]int64, n)
	sns, ens := make([]int32, n), make([]int32, n)
	back := make([]bool, n)
	for i, f := range filled {
		st, en := split(f.Start), split(f.End)
		ns[i] = s.filled + int64(i)
		ss[i], sns[i], es[i], ens[i] = st.s, st.ns, en.s, en.ns
		back[i] = f.Backfill
	}
	q.Queue(sqlFilled, s.node, ns, ss, sns, es, ens, back)
}

// lastPeers returns the records of recs, the last one of each peer only
// (an upsert cannot change one row twice).
func lastPeers(recs []core.PeerRecord) []*core.PeerRecord {
	out := make([]*core.PeerRecord, 0, len(recs))
	if len(recs) == 1 {
		return append(out, &recs[0])
	}
	seen := make(map[core.PeerID]int, len(recs))
	for i := range recs {
		if j, ok := seen[recs[i].Peer]; ok {
			out[j] = &recs[i]
			continue
		}
		seen[recs[i].Peer] = len(out)
		out = append(out, &recs[i])
	}
	return out
}

// lastChannels is lastPeers for channel records.
func lastChannels(recs []core.ChannelRecord) []*core.ChannelRecord {
	out := make([]*core.ChannelRecord, 0, len(recs))
	seen := make(map[core.ChannelPoint]int, len(recs))
	for i := range recs {
		if j, ok := seen[recs[i].Point]; ok {
			out[j] = &recs[i]
			continue
		}
		seen[recs[i].Point] = len(out)
		out = append(out, &recs[i])
	}
	return out
}

func queuePeers(q *pgx.Batch, node []byte, recs []*core.PeerRecord) {
	if len(recs) == 1 {
		queuePeer(q, node, recs[0])
		return
	}
	n := len(recs)
	ids := make([][]byte, n)
	trS, stS, flS, evS := make([]int64, n), make([]int64, n),
		make([]int64, n), make([]int64, n)
	trN, stN, flN, evN := make([]int32, n), make([]int32, n),
		make([]int32, n), make([]int32, n)
	online, flaps := make([]bool, n), make([]int64, n)
	sgS, sgN, sgState := make([]*int64, n), make([]*int32, n),
		make([]*int16, n)
	for i, r := range recs {
		ids[i] = r.Peer[:]
		tr, st, fl, ev := split(r.TrackedSince), split(r.StateSince),
			split(r.LastFlap), split(r.LastEvent)
		trS[i], trN[i], stS[i], stN[i] = tr.s, tr.ns, st.s, st.ns
		flS[i], flN[i], evS[i], evN[i] = fl.s, fl.ns, ev.s, ev.ns
		online[i], flaps[i] = r.Online, int64(r.FlapCount)
		if r.Staged != nil {
			sg := split(r.Staged.Time)
			state := int16(r.Staged.State)
			sgS[i], sgN[i], sgState[i] = &sg.s, &sg.ns, &state
		}
	}
	q.Queue(sqlPeers, node, ids, trS, trN, online, stS, stN, flaps, flS,
		flN, sgS, sgN, sgState, evS, evN)
}

// queuePeer queues one peer record (sqlPeer).
func queuePeer(q *pgx.Batch, node []byte, r *core.PeerRecord) {
	tr, st, fl, ev := split(r.TrackedSince), split(r.StateSince),
		split(r.LastFlap), split(r.LastEvent)
	var sgS *int64
	var sgN *int32
	var sgState *int16
	if r.Staged != nil {
		sg := split(r.Staged.Time)
		state := int16(r.Staged.State)
		sgS, sgN, sgState = &sg.s, &sg.ns, &state
	}
	q.Queue(sqlPeer, node, r.Peer[:], tr.s, tr.ns, r.Online, st.s, st.ns,
		int64(r.FlapCount), fl.s, fl.ns, sgS, sgN, sgState, ev.s, ev.ns)
}

func queueChannels(q *pgx.Batch, node []byte,
	recs []*core.ChannelRecord) {

	n := len(recs)
	txids, peers := make([][]byte, n), make([][]byte, n)
	idx, heights := make([]int64, n), make([]int64, n)
	scids, frozen := make([]string, n), make([]*string, n)
	opS, noS, clS := make([]int64, n), make([]int64, n), make([]int64, n)
	opN, noN, clN := make([]int32, n), make([]int32, n), make([]int32, n)
	sources := make([]int16, n)
	for i, c := range recs {
		txids[i], idx[i] = c.Point.Txid[:], int64(c.Point.Index)
		peers[i], scids[i] = c.Peer[:], c.ShortChannelID
		op, no, cl := split(c.OpenedAt), split(c.NodeOpenedAt),
			split(c.ClosedAt)
		opS[i], opN[i], noS[i], noN[i] = op.s, op.ns, no.s, no.ns
		clS[i], clN[i] = cl.s, cl.ns
		sources[i] = int16(c.OpenedAtSource)
		heights[i] = int64(c.FundingHeight)
		frozen[i] = encodeFrozen(c.Frozen)
	}
	q.Queue(sqlChannels, node, txids, idx, peers, scids, opS, opN, noS,
		noN, sources, heights, clS, clN, frozen)
}

// fingerprint is a digest of everything b writes, to recognize a batch
// written again after its first write's outcome was in doubt.
func fingerprint(b *core.Batch) [32]byte {
	var f fpBuf
	f.state(b)
	f.channels(b)
	f.records(b)
	return sha256.Sum256(f)
}

// fpBuf is the byte string a batch's fingerprint hashes.
type fpBuf []byte

func (f *fpBuf) add(b ...byte) { *f = append(*f, b...) }

func (f *fpBuf) str(s string) { *f = append(*f, s...) }

func (f *fpBuf) tm(t time.Time) {
	x := split(t)
	*f = binary.BigEndian.AppendUint64(*f, uint64(x.s))
	*f = binary.BigEndian.AppendUint32(*f, uint32(x.ns))
}

func (f *fpBuf) num(v uint64) {
	*f = binary.BigEndian.AppendUint64(*f, v)
}

// state adds the batch's meta, gaps, peers and logs.
func (f *fpBuf) state(b *core.Batch) {
	if b.Meta != nil {
		f.add('m')
		f.tm(b.Meta.MonitoringSince)
		f.tm(b.Meta.Heartbeat)
	}
	for _, g := range b.Gaps {
		f.add('g')
		f.tm(g.Start)
		f.tm(g.End)
	}
	for _, p := range b.Peers {
		f.add('p')
		f.add(p.Peer[:]...)
		f.tm(p.TrackedSince)
		f.tm(p.StateSince)
		f.tm(p.LastFlap)
		f.tm(p.LastEvent)
		f.num(uint64(p.FlapCount))
		if p.Online {
			f.add(1)
		}
		if p.Staged != nil {
			f.add('s', byte(p.Staged.State))
			f.tm(p.Staged.Time)
		}
	}
	for _, l := range b.Logs {
		f.add('l')
		f.add(l.Peer[:]...)
		f.num(l.Seq)
		f.num(uint64(len(l.Events)))
		for _, ev := range l.Events {
			f.tm(ev.Time)
			f.add(byte(ev.State))
		}
	}
}

// channels adds the batch's channels and deleted channels.
func (f *fpBuf) channels(b *core.Batch) {
	for _, c := range b.Channels {
		f.add('c')
		f.add(c.Point.Txid[:]...)
		f.num(uint64(c.Point.Index))
		f.str(c.ShortChannelID)
		f.tm(c.ClosedAt)
		f.tm(c.OpenedAt)
	}
	for _, cp := range b.DeleteChannels {
		f.add('d')
		f.add(cp.Txid[:]...)
		f.num(uint64(cp.Index))
	}
}

// records adds the batch's alerts, samples, filled spans and deleted
// alerts.
func (f *fpBuf) records(b *core.Batch) {
	for _, a := range b.Alerts {
		f.add('a')
		f.num(uint64(len(a.Key)))
		f.str(a.Key)
		f.num(uint64(a.Attempts))
		f.tm(a.NextAttempt)
		f.num(uint64(len(a.Pending)))
	}
	for _, x := range b.Samples {
		f.add('y')
		f.add(x.Peer[:]...)
		f.tm(x.Time)
		f.add(byte(x.Kind))
		f.num(uint64(x.RTT))
	}
	if !b.DeleteSamplesBefore.IsZero() {
		f.add('z')
		f.tm(b.DeleteSamplesBefore)
	}
	for _, sp := range b.Filled {
		f.add('f')
		f.tm(sp.Start)
		f.tm(sp.End)
		if sp.Backfill {
			f.add(1)
		}
	}
	for _, k := range b.DeleteAlerts {
		f.add('x')
		f.num(uint64(len(k)))
		f.str(k)
	}
}
