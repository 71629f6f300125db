package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	"github.com/jackc/pgx/v5"
)

// ErrOtherHistory is returned by Import when the node already has a
// history in the database that is not the one being imported.
var ErrOtherHistory = errors.New("the node already has another history " +
	"in the database")

// Counts are the sizes of a history, which an import compares.
type Counts struct {
	Gaps, Peers, Events, Channels, Alerts, Samples, Filled int
}

// String says the counts in words.
func (c Counts) String() string {
	return fmt.Sprintf("%d channels, %d peers, %d events, %d gaps, "+
		"%d alerts, %d samples, %d filled spans", c.Channels, c.Peers,
		c.Events, c.Gaps, c.Alerts, c.Samples, c.Filled)
}

// CountState returns the counts of st.
func CountState(st *core.StoredState) Counts {
	c := Counts{Gaps: len(st.Gaps), Peers: len(st.Peers),
		Channels: len(st.Channels), Alerts: len(st.Alerts),
		Samples: len(st.Samples), Filled: len(st.Filled)}
	for _, l := range st.Logs {
		c.Events += len(l.Events)
	}
	return c
}

// Import writes st, a whole history read from another store, as the
// node's history, in one transaction, then counts what the database
// holds and compares it with st. cut is the other store's latest sample
// cut (zero for none), which st does not carry: it becomes the node's,
// so that a sample older than it is not returned after the copy either.
// Into a node without history it copies everything; a node whose
// history already has st's counts and start (an import run before) is
// left alone, and copied is false; any other history is refused with
// ErrOtherHistory, and nothing is written. A sample of st older than cut
// is refused before anything is written.
func (s *Store) Import(ctx context.Context, st *core.StoredState,
	cut time.Time) (copied bool, err error) {

	if !cut.IsZero() {
		for _, x := range st.Samples {
			if x.Time.Before(cut) {
				return false, fmt.Errorf("import into %s: a "+
					"sample of peer %v at %v is older than "+
					"the history's sample cut %v; nothing "+
					"was copied", s.where, x.Peer,
					x.Time.UTC(), cut.UTC())
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	conn, err := s.ready(ctx, "import")
	if err != nil {
		return false, err
	}
	want := CountState(st)
	have, since, err := s.counts(ctx, conn)
	if err != nil {
		s.broken(err)
		return false, s.fail("import", err)
	}
	switch {
	case have == want && since.Equal(st.Meta.MonitoringSince):
		return false, nil
	case have != Counts{}:
		return false, fmt.Errorf("import into %s: %w: node %v holds "+
			"%v there (monitoring since %v), the history to import "+
			"%v (since %v); nothing was copied", s.where,
			ErrOtherHistory, s.nodeID, have, since.UTC(), want,
			st.Meta.MonitoringSince.UTC())
	}
	if err := s.importTx(ctx, conn, st, cut); err != nil {
		s.broken(err)
		return false, s.fail("import", err)
	}
	if err := s.readCounts(ctx, conn); err != nil {
		s.broken(err)
		return false, s.fail("import", err)
	}
	have, _, err = s.counts(ctx, conn)
	if err != nil {
		s.broken(err)
		return false, s.fail("import: count", err)
	}
	if have != want {
		return true, fmt.Errorf("%w: import into %s: the database "+
			"holds %v, the history imported %v", base.ErrCorrupt,
			s.where, have, want)
	}
	return true, nil
}

// counts counts the node's stored history.
func (s *Store) counts(ctx context.Context, conn *pgx.Conn) (Counts,
	time.Time, error) {

	var c Counts
	var since stamp
	err := conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM chanfitness_gaps WHERE node = $1),
		(SELECT count(*) FROM chanfitness_peers WHERE node = $1),
		(SELECT coalesce(sum(n), 0) FROM chanfitness_logs
			WHERE node = $1),
		(SELECT count(*) FROM chanfitness_channels WHERE node = $1),
		(SELECT count(*) FROM chanfitness_alerts WHERE node = $1),
		(SELECT count(*) FROM chanfitness_samples WHERE node = $1),
		(SELECT count(*) FROM chanfitness_filled WHERE node = $1),
		since_s, since_ns FROM chanfitness_nodes WHERE node = $1`,
		s.node).Scan(&c.Gaps, &c.Peers, &c.Events, &c.Channels,
		&c.Alerts, &c.Samples, &c.Filled, &since.s, &since.ns)
	return c, since.time(), err
}

// importTx writes st in one transaction: the records through a write's
// statements, the events through COPY.
func (s *Store) importTx(ctx context.Context, conn *pgx.Conn,
	st *core.StoredState, cut time.Time) error {

	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The node's cut is the history's, also when a cut is left from a
	// history since emptied (which would drop imported samples).
	var cs *int64
	var cns *int32
	if !cut.IsZero() {
		c := split(cut)
		cs, cns = &c.s, &c.ns
	}
	if _, err := tx.Exec(ctx, `UPDATE chanfitness_nodes
		SET cut_s = $2, cut_ns = $3 WHERE node = $1`,
		s.node, cs, cns); err != nil {
		return err
	}
	b := &core.Batch{
		Meta:     &st.Meta,
		Gaps:     st.Gaps,
		Peers:    st.Peers,
		Channels: st.Channels,
		Alerts:   st.Alerts,
		Samples:  st.Samples,
		Filled:   st.Filled,
	}
	s.token++
	g, sm, f := s.gaps, s.samples, s.filled
	s.gaps, s.samples, s.filled = 0, 0, 0
	q, _ := s.queue(b)
	s.gaps, s.samples, s.filled = g, sm, f
	if err := tx.SendBatch(ctx, q).Close(); err != nil {
		return err
	}
	// The logs go in chunks laid out as a monitor's writes and merges
	// would have left them (largest classes first), streamed a chunk at
	// a time.
	li, from := 0, 0
	row := make([]any, 6)
	var data []byte
	next := func() ([]any, error) {
		for li < len(st.Logs) && from == len(st.Logs[li].Events) {
			li, from = li+1, 0
		}
		if li == len(st.Logs) {
			return nil, nil
		}
		l := &st.Logs[li]
		to := from + chunkLen(len(l.Events)-from)
		evs := l.Events[from:to]
		data = pack(data[:0], evs)
		row[0], row[1] = s.node, l.Peer[:]
		row[2], row[3] = int64(l.Seq)+int64(from), int32(len(evs))
		row[4], row[5] = split(evs[len(evs)-1].Time).s, data
		from = to
		return row, nil
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"chanfitness_logs"},
		[]string{"node", "peer", "seq", "n", "last_s", "data"},
		pgx.CopyFromFunc(next)); err != nil {
		return err
	}
	// The import is as durable as a Sync once it returns.
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit TO on`); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
