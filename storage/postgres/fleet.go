package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/fleet"
	"github.com/jackc/pgx/v5"
)

// FleetReader reads every node's history in a database for the fleet
// view, on a connection of its own (a store's writes never wait for it).
// It is safe for concurrent use; reads take turns.
type FleetReader struct {
	cfg   *pgx.ConnConfig
	where string
	scrub func(string) string
	limit time.Duration

	mu   sync.Mutex
	conn *pgx.Conn
}

// NewFleetReader prepares a reader of the database of dsn; it connects
// on the first Read. timeout bounds each read (zero: DefaultTimeout).
func NewFleetReader(dsn string, timeout time.Duration) (*FleetReader,
	error) {

	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cfg, err := parseDSN(dsn, timeout)
	if err != nil {
		return nil, err
	}
	return &FleetReader{cfg: cfg, where: describe(cfg),
		scrub: scrubber(cfg.Password), limit: timeout}, nil
}

// Close closes the reader's connection.
func (r *FleetReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != nil {
		err := r.conn.Close(context.Background())
		r.conn = nil
		return err
	}
	return nil
}

// Read returns each node's history from since on (with each log's last
// event before it), for fleet.Compute at now. A node whose monitor holds
// its lock is seen until now, another one until its last heartbeat.
func (r *FleetReader) Read(ctx context.Context, since,
	now time.Time) ([]fleet.NodeHistory, error) {

	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, r.limit)
	defer cancel()
	if r.conn == nil || r.conn.IsClosed() {
		conn, err := pgx.ConnectConfig(ctx, r.cfg)
		if err != nil {
			return nil, r.fail(fmt.Errorf("%w: %w", ErrUnreachable,
				err))
		}
		r.conn = conn
	}
	nodes, err := readFleet(ctx, r.conn, since, now)
	if err != nil {
		if r.conn.IsClosed() {
			r.conn = nil
		}
		return nil, r.fail(err)
	}
	return nodes, nil
}

func (r *FleetReader) fail(err error) error {
	return &storeError{msg: r.scrub(fmt.Sprintf("fleet view: %s: %v",
		r.where, err)), err: err}
}

// sqlFleetEvents reads, per node and peer with a channel, the log's last
// event before $1 and every event from $1 on, as arrays.
const sqlFleetEvents = `SELECT c.node, c.peer, c.open, w.ts, w.tns, w.st
	FROM (SELECT node, peer, count(*) FILTER (WHERE closed_s = $2
		AND closed_ns = 0) AS open
		FROM chanfitness_channels GROUP BY node, peer) c
	CROSS JOIN LATERAL (
		SELECT array_agg(x.t_s ORDER BY x.seq) AS ts,
			array_agg(x.t_ns ORDER BY x.seq) AS tns,
			array_agg(x.state ORDER BY x.seq) AS st
		FROM ((SELECT seq, t_s, t_ns, state FROM chanfitness_events e
			WHERE e.node = c.node AND e.peer = c.peer
			AND e.t_s < $1 ORDER BY seq DESC LIMIT 1)
		UNION ALL
		(SELECT seq, t_s, t_ns, state FROM chanfitness_events e
			WHERE e.node = c.node AND e.peer = c.peer
			AND e.t_s >= $1)) x) w`

func readFleet(ctx context.Context, conn *pgx.Conn, since,
	now time.Time) ([]fleet.NodeHistory, error) {

	tx, err := conn.BeginTx(ctx, pgx.TxOptions{
		IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(ctx) }()

	// The locks held now, by the monitors that run.
	held := make(map[[2]uint32]bool)
	rows, err := tx.Query(ctx, `SELECT classid::bigint, objid::bigint
		FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND objsubid = 1 AND database = (SELECT oid FROM pg_database
			WHERE datname = current_database())`)
	if err != nil {
		return nil, err
	}
	var hi, lo int64
	if _, err := pgx.ForEachRow(rows, []any{&hi, &lo}, func() error {
		held[[2]uint32{uint32(hi), uint32(lo)}] = true
		return nil
	}); err != nil {
		return nil, err
	}

	byNode := make(map[core.PeerID]int)
	var nodes []fleet.NodeHistory
	rows, err = tx.Query(ctx, `SELECT node, heartbeat_s, heartbeat_ns
		FROM chanfitness_nodes ORDER BY node`)
	if err != nil {
		return nil, err
	}
	var (
		id []byte
		hb stamp
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &hb.s, &hb.ns},
		func() error {
			var n fleet.NodeHistory
			if err := peerID(&n.Node, id,
				"chanfitness_nodes"); err != nil {
				return err
			}
			key := uint64(lockKey(id))
			n.Live = held[[2]uint32{uint32(key >> 32),
				uint32(key)}]
			n.Until = hb.time()
			if n.Live {
				n.Until = now
			}
			byNode[n.Node] = len(nodes)
			nodes = append(nodes, n)
			return nil
		}); err != nil {
		return nil, err
	}

	// The staged events: each peer's newest state.
	staged := make(map[[2]core.PeerID]core.LogEvent)
	rows, err = tx.Query(ctx, `SELECT node, peer, staged_s, staged_ns,
		staged_state FROM chanfitness_peers
		WHERE staged_s IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	var (
		peer  []byte
		sg    stamp
		state int16
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &peer, &sg.s, &sg.ns,
		&state}, func() error {
		var k [2]core.PeerID
		copy(k[0][:], id)
		copy(k[1][:], peer)
		staged[k] = core.LogEvent{Time: sg.time(),
			State: core.State(state)}
		return nil
	}); err != nil {
		return nil, err
	}

	zero := split(time.Time{})
	rows, err = tx.Query(ctx, sqlFleetEvents, split(since).s, zero.s)
	if err != nil {
		return nil, err
	}
	var (
		open   int64
		ts     []int64
		tns    []int32
		states []int16
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &peer, &open, &ts, &tns,
		&states}, func() error {

		var k [2]core.PeerID
		if err := peerID(&k[0], id, "chanfitness_channels"); err != nil {
			return err
		}
		if err := peerID(&k[1], peer, "chanfitness_channels"); err != nil {
			return err
		}
		i, ok := byNode[k[0]]
		if !ok {
			return nil
		}
		ph := fleet.PeerHistory{Peer: k[1], OpenChannels: int(open),
			Events: make([]core.LogEvent, 0, len(ts)+1)}
		for j := range ts {
			ph.Events = append(ph.Events, core.LogEvent{
				Time:  stamp{ts[j], tns[j]}.time(),
				State: core.State(states[j])})
		}
		if ev, ok := staged[k]; ok {
			ph.Events = append(ph.Events, ev)
		}
		nodes[i].Peers = append(nodes[i].Peers, ph)
		return nil
	}); err != nil {
		return nil, err
	}
	return nodes, tx.Commit(ctx)
}

// View reads what the windows need and computes the fleet view at now
// over fleet.Windows and extra (a zero Length reads the whole history).
func (r *FleetReader) View(ctx context.Context, now time.Time,
	extra ...core.Window) (fleet.Report, error) {

	widest := time.Duration(0)
	all := false
	for _, w := range append(slices.Clone(fleet.Windows), extra...) {
		widest = max(widest, w.Length)
		all = all || w.Length == 0
	}
	since := now.Add(-widest)
	if all {
		since = time.Unix(0, 0)
	}
	nodes, err := r.Read(ctx, since, now)
	if err != nil {
		return fleet.Report{}, err
	}
	return fleet.Compute(nodes, now, extra...), nil
}
