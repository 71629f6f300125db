package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
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
// chunks that reach $1 or later, and the last event of the chunk before
// them (before is true on its row). The rows come in no order: sorting
// them in the server, chunks and all, took longer than the rest of the
// query (it spilled to disk); the reader puts each peer's chunks in
// order.
const sqlFleetEvents = `SELECT c.node, c.peer, c.open, w.before, w.seq,
		w.n, w.last_s, w.data
	FROM (SELECT node, peer, count(*) FILTER (WHERE closed_s = $2
		AND closed_ns = 0) AS open
		FROM chanfitness_channels GROUP BY node, peer) c
	LEFT JOIN LATERAL (
		(SELECT true AS before, g.seq + g.n - 1 AS seq, 1 AS n,
			g.last_s, substring(g.data from g.n * 14 - 13) AS data
			FROM chanfitness_logs g
			WHERE g.node = c.node AND g.peer = c.peer
			AND g.last_s < $1 ORDER BY g.seq DESC LIMIT 1)
		UNION ALL
		(SELECT false, g.seq, g.n, g.last_s, g.data
			FROM chanfitness_logs g
			WHERE g.node = c.node AND g.peer = c.peer
			AND g.last_s >= $1)) w ON true`

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
// reads, which come in no order.
type fleetAssembler struct {
	since  time.Time
	nodes  []fleet.NodeHistory
	byNode map[core.PeerID]int
	staged map[[2]core.PeerID]core.LogEvent

	// peers holds each node's peers (keyed by node and peer) as their
	// rows come.
	peers map[[2]core.PeerID]*fleetPeer
}

// fleetPeer is one node's peer being read: its open channels and the
// chunks of its log read so far.
type fleetPeer struct {
	open   int
	chunks []fleetChunk
}

// fleetChunk is a chunk of a log as the fleet view reads it: the
// packed events from the one before since on (k of them) are data.
type fleetChunk struct {
	before bool
	seq    int64
	n      int32
	k      int
	data   []byte
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
	a.peers = make(map[[2]core.PeerID]*fleetPeer)
	var (
		id, peer, data []byte
		open           int64
		before         *bool
		seq, last      *int64
		n              *int32
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &peer, &open, &before,
		&seq, &n, &last, &data}, func() error {
		if n == nil {
			return a.addRow(id, peer, open, nil, 0, nil)
		}
		c := &fleetChunk{before: *before, seq: *seq, n: *n}
		return a.addRow(id, peer, open, c, *last, data)
	}); err != nil {
		return err
	}
	return a.done()
}

// addRow adds one row of sqlFleetEvents: a chunk of a peer's log (or
// none, c nil) with the peer's open channel count. The chunk's last
// event must be in the second last says, which the query chose it by.
func (a *fleetAssembler) addRow(id, peer []byte, open int64, c *fleetChunk,
	last int64, data []byte) error {

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
	p := a.peers[k]
	if p == nil {
		p = &fleetPeer{open: int(open)}
		a.peers[k] = p
	}
	if c == nil {
		return nil
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: table chanfitness_logs: log of peer "+
			"%v of node %v, chunk at event %d: %s: restore the "+
			"database from a backup", base.ErrCorrupt, k[1], k[0],
			c.seq, fmt.Sprintf(format, args...))
	}
	if c.n <= 0 || len(data) != int(c.n)*eventSize {
		return bad("%d bytes for %d events", len(data), c.n)
	}
	if t := int64(binary.BigEndian.Uint64(
		data[len(data)-eventSize:])); t != last {
		return bad("its last event is at second %d, its row says %d",
			t, last)
	}
	// Only the events from the one before since on count; they are
	// unpacked once the peer's chunks are in order.
	from := firstFrom(data, int(c.n), split(a.since).s)
	c.k, c.data = int(c.n)-from, data[from*eventSize:]
	p.chunks = append(p.chunks, *c)
	return nil
}

// done puts each peer's chunks in order, checks that they follow one
// another, trims the log to the last event before since and what
// follows, adds its staged event, and hands the peer to its node.
func (a *fleetAssembler) done() error {
	for k, p := range a.peers {
		evs, err := a.events(k, p.chunks)
		if err != nil {
			return err
		}
		i := sort.Search(len(evs), func(i int) bool {
			return !evs[i].Time.Before(a.since)
		})
		evs = evs[max(i-1, 0):]
		if ev, ok := a.staged[k]; ok {
			evs = append(evs, ev)
		}
		n := &a.nodes[a.byNode[k[0]]]
		n.Peers = append(n.Peers, fleet.PeerHistory{Peer: k[1],
			OpenChannels: p.open, Events: evs})
	}
	for i := range a.nodes {
		ps := a.nodes[i].Peers
		sort.Slice(ps, func(i, j int) bool {
			return bytes.Compare(ps[i].Peer[:], ps[j].Peer[:]) < 0
		})
	}
	return nil
}

// events returns the events of a peer's chunks, put in order: the chunk
// before since (if any) first, then chunks that follow one another, in
// time order. Anything else is damage, reported with the table, peer
// and node.
func (a *fleetAssembler) events(k [2]core.PeerID,
	chunks []fleetChunk) ([]core.LogEvent, error) {

	sort.Slice(chunks, func(i, j int) bool {
		return chunks[i].seq < chunks[j].seq
	})
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: table chanfitness_logs: log of peer "+
			"%v of node %v: %s: restore the database from a "+
			"backup", base.ErrCorrupt, k[1], k[0],
			fmt.Sprintf(format, args...))
	}
	total := 0
	for _, c := range chunks {
		total += c.k
	}
	// One more for the staged event.
	evs := make([]core.LogEvent, 0, total+1)
	next := int64(0)
	for i, c := range chunks {
		switch {
		case c.before && i > 0:
			return nil, bad("the chunk before the window, at "+
				"event %d, follows others", c.seq)
		case !c.before && c.seq != next:
			return nil, bad("events %d to %d are missing",
				next, c.seq-1)
		}
		from := len(evs)
		var err error
		if evs, err = unpack(evs, c.data, c.k); err != nil {
			return nil, bad("chunk at event %d: %v", c.seq, err)
		}
		for j := max(from, 1); j < len(evs); j++ {
			if evs[j].Time.Before(evs[j-1].Time) {
				return nil, bad("event at %v after one at %v",
					evs[j].Time.UTC(), evs[j-1].Time.UTC())
			}
		}
		next = c.seq + int64(c.n)
	}
	return evs, nil
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
