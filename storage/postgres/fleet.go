package postgres

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/fleet"
	"github.com/chanfitness/chanfitness/storage/internal/base"
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

// sqlFleetEvents reads, per node and peer with a channel, the log
// chunks that reach $1 or later, and the one before them.
const sqlFleetEvents = `SELECT c.node, c.peer, c.open, w.n, w.data
	FROM (SELECT node, peer, count(*) FILTER (WHERE closed_s = $2
		AND closed_ns = 0) AS open
		FROM chanfitness_channels GROUP BY node, peer) c
	LEFT JOIN LATERAL (
		(SELECT seq, n, data FROM chanfitness_logs g
			WHERE g.node = c.node AND g.peer = c.peer
			AND g.last_s < $1 ORDER BY seq DESC LIMIT 1)
		UNION ALL
		(SELECT seq, n, data FROM chanfitness_logs g
			WHERE g.node = c.node AND g.peer = c.peer
			AND g.last_s >= $1)) w ON true
	ORDER BY c.node, c.peer, w.seq`

// readFleet reads, in one read-only snapshot, every node's history from
// the event before since on, for the fleet view at now.
func readFleet(ctx context.Context, conn *pgx.Conn, since,
	now time.Time) ([]fleet.NodeHistory, error) {

	tx, err := conn.BeginTx(ctx, pgx.TxOptions{
		IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(ctx) }()

	held, err := readHeldLocks(ctx, tx)
	if err != nil {
		return nil, err
	}
	a := fleetAssembler{since: since, byNode: make(map[core.PeerID]int)}
	if err := a.readNodes(ctx, tx, held, now); err != nil {
		return nil, err
	}
	if a.staged, err = readStaged(ctx, tx); err != nil {
		return nil, err
	}
	if err := a.readEvents(ctx, tx); err != nil {
		return nil, err
	}
	return a.nodes, tx.Commit(ctx)
}

// readHeldLocks returns the advisory locks held now, by the monitors that
// run, keyed by the lock's two halves.
func readHeldLocks(ctx context.Context, tx pgx.Tx) (map[[2]uint32]bool,
	error) {

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
	return held, nil
}

// readStaged returns each node's peers' staged events (their newest
// state), keyed by node and peer.
func readStaged(ctx context.Context, tx pgx.Tx) (
	map[[2]core.PeerID]core.LogEvent, error) {

	staged := make(map[[2]core.PeerID]core.LogEvent)
	rows, err := tx.Query(ctx, `SELECT node, peer, staged_s, staged_ns,
		staged_state FROM chanfitness_peers
		WHERE staged_s IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	var (
		id, peer []byte
		sg       stamp
		state    int16
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
	return staged, nil
}

// fleetAssembler builds the nodes' histories from the rows readFleet
// reads, one peer of one node at a time.
type fleetAssembler struct {
	since  time.Time
	nodes  []fleet.NodeHistory
	byNode map[core.PeerID]int
	staged map[[2]core.PeerID]core.LogEvent

	// cur is the peer being read, of node curK[0] and peer curK[1].
	cur  *fleet.PeerHistory
	curK [2]core.PeerID
}

// readNodes reads every node of the database: live when its monitor
// holds its lock now (then its history runs until now), else until its
// last heartbeat.
func (a *fleetAssembler) readNodes(ctx context.Context, tx pgx.Tx,
	held map[[2]uint32]bool, now time.Time) error {

	rows, err := tx.Query(ctx, `SELECT node, heartbeat_s, heartbeat_ns
		FROM chanfitness_nodes ORDER BY node`)
	if err != nil {
		return err
	}
	var (
		id []byte
		hb stamp
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &hb.s, &hb.ns},
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
			a.byNode[n.Node] = len(a.nodes)
			a.nodes = append(a.nodes, n)
			return nil
		})
	return err
}

// readEvents reads the peers' logs of every node, from the event before
// since on.
func (a *fleetAssembler) readEvents(ctx context.Context, tx pgx.Tx) error {
	zero := split(time.Time{})
	rows, err := tx.Query(ctx, sqlFleetEvents, split(a.since).s, zero.s)
	if err != nil {
		return err
	}
	var (
		id, peer, data []byte
		open           int64
		n              *int32
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &peer, &open, &n,
		&data}, func() error {
		return a.addRow(id, peer, open, n, data)
	}); err != nil {
		return err
	}
	a.done()
	return nil
}

// addRow adds one row of sqlFleetEvents: a chunk of a peer's log (or
// none, n nil) with the peer's open channel count.
func (a *fleetAssembler) addRow(id, peer []byte, open int64, n *int32,
	data []byte) error {

	var k [2]core.PeerID
	if err := peerID(&k[0], id, "chanfitness_channels"); err != nil {
		return err
	}
	if err := peerID(&k[1], peer, "chanfitness_channels"); err != nil {
		return err
	}
	if _, ok := a.byNode[k[0]]; !ok {
		return nil
	}
	if a.cur == nil || a.curK != k {
		a.done()
		a.cur = &fleet.PeerHistory{Peer: k[1], OpenChannels: int(open)}
		a.curK = k
	}
	if n == nil {
		return nil
	}
	if len(data) != int(*n)*eventSize {
		return fmt.Errorf("%w: table chanfitness_logs: log of "+
			"peer %v: %d bytes for %d events",
			base.ErrCorrupt, k[1], len(data), *n)
	}
	// Only the events from the one before since on count.
	from := firstFrom(data, int(*n), split(a.since).s)
	var err error
	a.cur.Events, err = unpack(a.cur.Events, data[from*eventSize:],
		int(*n)-from)
	if err != nil {
		return fmt.Errorf("%w: table chanfitness_logs: log of "+
			"peer %v: %v", base.ErrCorrupt, k[1], err)
	}
	return nil
}

// done trims the finished peer's log to the last event before since and
// what follows, adds its staged event, and hands it to its node.
func (a *fleetAssembler) done() {
	if a.cur == nil {
		return
	}
	evs := a.cur.Events
	k := sort.Search(len(evs), func(i int) bool {
		return !evs[i].Time.Before(a.since)
	})
	a.cur.Events = evs[max(k-1, 0):]
	if ev, ok := a.staged[a.curK]; ok {
		a.cur.Events = append(a.cur.Events, ev)
	}
	i := a.byNode[a.curK[0]]
	a.nodes[i].Peers = append(a.nodes[i].Peers, *a.cur)
	a.cur = nil
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
