package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	"github.com/jackc/pgx/v5"
)

// Load returns the node's whole history, read from the database in one
// snapshot. Peers, logs and channels come ordered by key. A log with a
// hole or a record that does not decode fails with an error wrapping
// storage.ErrCorrupt that names the table and the row.
func (s *Store) Load(ctx context.Context) (*core.StoredState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("load: %w", base.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*s.limit)
	defer cancel()
	conn, err := s.ready(ctx, "load")
	if err != nil {
		return nil, err
	}
	st, err := loadNode(ctx, conn, s.node)
	if err != nil {
		s.broken(err)
		return nil, s.fail("load", err)
	}
	return st, nil
}

// loadNode reads one node's history in a read-only snapshot.
func loadNode(ctx context.Context, conn *pgx.Conn,
	node []byte) (*core.StoredState, error) {

	tx, err := conn.BeginTx(ctx, pgx.TxOptions{
		IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	st := &core.StoredState{}

	var since, hb stamp
	err = tx.QueryRow(ctx, `SELECT since_s, since_ns, heartbeat_s,
		heartbeat_ns FROM chanfitness_nodes WHERE node = $1`, node).
		Scan(&since.s, &since.ns, &hb.s, &hb.ns)
	switch {
	case err == pgx.ErrNoRows:
		return st, nil
	case err != nil:
		return nil, err
	}
	st.Meta = core.Meta{MonitoringSince: since.time(),
		Heartbeat: hb.time()}

	if st.Gaps, err = loadGaps(ctx, tx, node); err != nil {
		return nil, err
	}
	if st.Peers, err = loadPeers(ctx, tx, node); err != nil {
		return nil, err
	}
	if st.Logs, err = loadLogs(ctx, tx, node); err != nil {
		return nil, err
	}
	if st.Channels, err = loadChannels(ctx, tx, node); err != nil {
		return nil, err
	}
	if st.Alerts, err = loadAlerts(ctx, tx, node); err != nil {
		return nil, err
	}
	if st.Samples, err = loadSamples(ctx, tx, node); err != nil {
		return nil, err
	}
	if st.Filled, err = loadFilled(ctx, tx, node); err != nil {
		return nil, err
	}
	return st, tx.Commit(ctx)
}

// loadGaps reads the node's gaps in the order they were written.
func loadGaps(ctx context.Context, tx pgx.Tx, node []byte) ([]core.Gap,
	error) {

	rows, err := tx.Query(ctx, `SELECT start_s, start_ns, end_s, end_ns
		FROM chanfitness_gaps WHERE node = $1 ORDER BY n`, node)
	if err != nil {
		return nil, err
	}
	var (
		gaps []core.Gap
		a, b stamp
	)
	_, err = pgx.ForEachRow(rows, []any{&a.s, &a.ns, &b.s, &b.ns},
		func() error {
			gaps = append(gaps, core.Gap{Start: a.time(),
				End: b.time()})
			return nil
		})
	return gaps, err
}

// loadSamples reads the node's samples in time order (ties in the order
// they were written), none older than its latest cut.
func loadSamples(ctx context.Context, tx pgx.Tx, node []byte) (
	[]core.PeerSample, error) {

	rows, err := tx.Query(ctx, `SELECT s.peer, s.t_s, s.t_ns, s.kind,
		s.rtt FROM chanfitness_samples s
		JOIN chanfitness_nodes c ON c.node = s.node
		WHERE s.node = $1 AND (c.cut_s IS NULL OR s.t_s > c.cut_s OR
			s.t_s = c.cut_s AND s.t_ns >= c.cut_ns)
		ORDER BY s.t_s, s.t_ns, s.n`, node)
	if err != nil {
		return nil, err
	}
	var (
		samples []core.PeerSample
		peer    []byte
		a       stamp
		kind    int16
		rtt     int64
	)
	_, err = pgx.ForEachRow(rows, []any{&peer, &a.s, &a.ns, &kind, &rtt},
		func() error {
			x := core.PeerSample{Time: a.time(),
				Kind: core.SampleKind(kind),
				RTT:  time.Duration(rtt)}
			if err := peerID(&x.Peer, peer,
				"chanfitness_samples"); err != nil {
				return err
			}
			samples = append(samples, x)
			return nil
		})
	return samples, err
}

// loadFilled reads the node's filled spans in the order they were
// written.
func loadFilled(ctx context.Context, tx pgx.Tx, node []byte) (
	[]core.FilledSpan, error) {

	rows, err := tx.Query(ctx, `SELECT start_s, start_ns, end_s, end_ns,
		backfill FROM chanfitness_filled WHERE node = $1 ORDER BY n`,
		node)
	if err != nil {
		return nil, err
	}
	var (
		filled   []core.FilledSpan
		a, b     stamp
		backfill bool
	)
	_, err = pgx.ForEachRow(rows, []any{&a.s, &a.ns, &b.s, &b.ns,
		&backfill}, func() error {
		filled = append(filled, core.FilledSpan{Start: a.time(),
			End: b.time(), Backfill: backfill})
		return nil
	})
	return filled, err
}

func loadPeers(ctx context.Context, tx pgx.Tx,
	node []byte) ([]core.PeerRecord, error) {

	rows, err := tx.Query(ctx, `SELECT peer, tracked_s, tracked_ns,
		online, state_s, state_ns, flaps, flap_s, flap_ns, staged_s,
		staged_ns, staged_state, event_s, event_ns
		FROM chanfitness_peers WHERE node = $1 ORDER BY peer`, node)
	if err != nil {
		return nil, err
	}
	var out []core.PeerRecord
	var (
		id             []byte
		tr, stt, fl, e stamp
		online         bool
		flaps          int64
		sgS            *int64
		sgN            *int32
		sgState        *int16
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &tr.s, &tr.ns, &online,
		&stt.s, &stt.ns, &flaps, &fl.s, &fl.ns, &sgS, &sgN, &sgState,
		&e.s, &e.ns}, func() error {

		r := core.PeerRecord{
			TrackedSince: tr.time(),
			Online:       online,
			StateSince:   stt.time(),
			FlapCount:    int(flaps),
			LastFlap:     fl.time(),
			LastEvent:    e.time(),
		}
		if err := peerID(&r.Peer, id, "chanfitness_peers"); err != nil {
			return err
		}
		if sgS != nil && sgN != nil && sgState != nil {
			r.Staged = &core.LogEvent{
				Time:  stamp{*sgS, *sgN}.time(),
				State: core.State(*sgState),
			}
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// loadLogs reads every peer's log from its chunks.
func loadLogs(ctx context.Context, tx pgx.Tx,
	node []byte) ([]core.PeerLog, error) {

	rows, err := tx.Query(ctx, `SELECT peer, seq, n, data
		FROM chanfitness_logs WHERE node = $1 ORDER BY peer, seq`, node)
	if err != nil {
		return nil, err
	}
	var out []core.PeerLog
	var (
		id   []byte
		seq  int64
		n    int32
		data []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &seq, &n, &data},
		func() error {
			var p core.PeerID
			err := peerID(&p, id, "chanfitness_logs")
			if err != nil {
				return err
			}
			if len(out) == 0 || out[len(out)-1].Peer != p {
				out = append(out, core.PeerLog{Peer: p})
			}
			l := &out[len(out)-1]
			if seq != int64(len(l.Events)) {
				return fmt.Errorf("%w: table chanfitness_logs: "+
					"log of peer %v has events from %d "+
					"where %d belongs (rows were "+
					"removed): restore the database from "+
					"a backup", base.ErrCorrupt, p, seq,
					len(l.Events))
			}
			l.Events, err = unpack(l.Events, data, int(n))
			if err != nil {
				return fmt.Errorf("%w: table chanfitness_logs: "+
					"log of peer %v from event %d: %v",
					base.ErrCorrupt, p, seq, err)
			}
			return nil
		})
	return out, err
}

func loadChannels(ctx context.Context, tx pgx.Tx,
	node []byte) ([]core.ChannelRecord, error) {

	rows, err := tx.Query(ctx, `SELECT txid, idx, peer, scid, opened_s,
		opened_ns, node_opened_s, node_opened_ns, opened_source,
		funding_height, closed_s, closed_ns, frozen
		FROM chanfitness_channels WHERE node = $1
		ORDER BY txid, idx`, node)
	if err != nil {
		return nil, err
	}
	var out []core.ChannelRecord
	var (
		txid, peer  []byte
		idx, height int64
		scid        string
		op, no, cl  stamp
		source      int16
		frozen      *string
	)
	_, err = pgx.ForEachRow(rows, []any{&txid, &idx, &peer, &scid, &op.s,
		&op.ns, &no.s, &no.ns, &source, &height, &cl.s, &cl.ns,
		&frozen}, func() error {

		c := core.ChannelRecord{
			ShortChannelID: scid,
			OpenedAt:       op.time(),
			NodeOpenedAt:   no.time(),
			OpenedAtSource: core.OpenedAtSource(source),
			FundingHeight:  uint32(height),
			ClosedAt:       cl.time(),
		}
		if len(txid) != len(c.Point.Txid) || idx < 0 ||
			idx > 1<<32-1 {
			return fmt.Errorf("%w: table chanfitness_channels: "+
				"bad channel point %x:%d", base.ErrCorrupt,
				txid, idx)
		}
		copy(c.Point.Txid[:], txid)
		c.Point.Index = uint32(idx)
		if err := peerID(&c.Peer, peer,
			"chanfitness_channels"); err != nil {
			return err
		}
		f, err := decodeFrozen(frozen)
		if err != nil {
			return fmt.Errorf("%w: table chanfitness_channels: "+
				"channel %v: frozen numbers: %v",
				base.ErrCorrupt, c.Point, err)
		}
		c.Frozen = f
		out = append(out, c)
		return nil
	})
	return out, err
}

func loadAlerts(ctx context.Context, tx pgx.Tx,
	node []byte) ([]core.AlertRecord, error) {

	rows, err := tx.Query(ctx, `SELECT key, body, created_s, created_ns,
		pending, attempts, next_s, next_ns FROM chanfitness_alerts
		WHERE node = $1 ORDER BY key`, node)
	if err != nil {
		return nil, err
	}
	var out []core.AlertRecord
	var (
		key, body []byte
		cr, nx    stamp
		pending   []string
		attempts  int64
	)
	_, err = pgx.ForEachRow(rows, []any{&key, &body, &cr.s, &cr.ns,
		&pending, &attempts, &nx.s, &nx.ns}, func() error {

		a := core.AlertRecord{
			Key:         string(key),
			Body:        append([]byte(nil), body...),
			CreatedAt:   cr.time(),
			Attempts:    int(attempts),
			NextAttempt: nx.time(),
		}
		if len(a.Body) == 0 {
			a.Body = nil
		}
		if len(pending) > 0 {
			a.Pending = append([]string(nil), pending...)
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

func peerID(dst *core.PeerID, b []byte, table string) error {
	if len(b) != len(dst) {
		return fmt.Errorf("%w: table %s: peer id %x is %d bytes, "+
			"want %d", base.ErrCorrupt, table, b, len(b), len(dst))
	}
	copy(dst[:], b)
	return nil
}

// stamp is a time as stored: seconds and nanoseconds since 1970.
type stamp struct {
	s  int64
	ns int32
}

func split(t time.Time) stamp {
	return stamp{t.Unix(), int32(t.Nanosecond())}
}

func (x stamp) time() time.Time {
	t := time.Unix(x.s, int64(x.ns)).UTC()
	if t.Equal(time.Time{}) {
		return time.Time{}
	}
	return t
}

// frozenNumbers is the stored form of a closed channel's numbers:
// window name to [monitored, uptime] in nanoseconds.
type frozenNumbers map[string][2]int64

func encodeFrozen(m map[string]core.WindowNumbers) *string {
	if m == nil {
		return nil
	}
	f := make(frozenNumbers, len(m))
	for k, v := range m {
		f[k] = [2]int64{int64(v.Monitored), int64(v.Uptime)}
	}
	b, _ := json.Marshal(f)
	s := string(b)
	return &s
}

func decodeFrozen(s *string) (map[string]core.WindowNumbers, error) {
	if s == nil {
		return nil, nil
	}
	var f frozenNumbers
	if err := json.Unmarshal([]byte(*s), &f); err != nil {
		return nil, err
	}
	m := make(map[string]core.WindowNumbers, len(f))
	for k := range f {
		m[k] = core.WindowNumbers{Monitored: time.Duration(f[k][0]),
			Uptime: time.Duration(f[k][1])}
	}
	return m, nil
}
