package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The schema is versioned by a small migrator of its own rather than a
// migration library: the steps are a few SQL statements compiled into
// the binary, applied in one transaction each under an advisory lock
// (two monitors starting at once on a new database cannot both apply
// them), and nothing of it may write to stdout, which is the Core
// Lightning plugin's protocol pipe.

// migrations are the schema's steps; migrations[i] brings the schema from
// version i to i+1. A step is never changed once released: changes are
// new steps.
//
// Every row belongs to a node (its public key). Times are stored as
// seconds and nanoseconds since 1970 (two columns), since the history's
// times need nanoseconds and Go's whole range of years. A peer's log is
// one row per event, numbered from 0 by seq, until step 4 packs them in
// chunks.
var migrations = []string{
	`CREATE TABLE chanfitness_nodes (
		node bytea PRIMARY KEY CHECK (length(node) = 33),
		since_s bigint NOT NULL,
		since_ns integer NOT NULL,
		heartbeat_s bigint NOT NULL,
		heartbeat_ns integer NOT NULL,
		write_token bigint NOT NULL DEFAULT 0,
		created timestamptz NOT NULL DEFAULT now()
	);
	CREATE TABLE chanfitness_gaps (
		node bytea NOT NULL REFERENCES chanfitness_nodes,
		n bigint NOT NULL,
		start_s bigint NOT NULL,
		start_ns integer NOT NULL,
		end_s bigint NOT NULL,
		end_ns integer NOT NULL,
		PRIMARY KEY (node, n)
	);
	CREATE TABLE chanfitness_peers (
		node bytea NOT NULL REFERENCES chanfitness_nodes,
		peer bytea NOT NULL CHECK (length(peer) = 33),
		tracked_s bigint NOT NULL,
		tracked_ns integer NOT NULL,
		online boolean NOT NULL,
		state_s bigint NOT NULL,
		state_ns integer NOT NULL,
		flaps bigint NOT NULL,
		flap_s bigint NOT NULL,
		flap_ns integer NOT NULL,
		staged_s bigint,
		staged_ns integer,
		staged_state smallint,
		event_s bigint NOT NULL,
		event_ns integer NOT NULL,
		PRIMARY KEY (node, peer)
	);
	CREATE TABLE chanfitness_events (
		node bytea NOT NULL REFERENCES chanfitness_nodes,
		peer bytea NOT NULL,
		seq bigint NOT NULL,
		t_s bigint NOT NULL,
		t_ns integer NOT NULL,
		state smallint NOT NULL,
		PRIMARY KEY (node, peer, seq)
	);
	CREATE TABLE chanfitness_channels (
		node bytea NOT NULL REFERENCES chanfitness_nodes,
		txid bytea NOT NULL CHECK (length(txid) = 32),
		idx bigint NOT NULL,
		peer bytea NOT NULL,
		scid text NOT NULL,
		opened_s bigint NOT NULL,
		opened_ns integer NOT NULL,
		node_opened_s bigint NOT NULL,
		node_opened_ns integer NOT NULL,
		opened_source smallint NOT NULL,
		funding_height bigint NOT NULL,
		closed_s bigint NOT NULL,
		closed_ns integer NOT NULL,
		frozen text,
		PRIMARY KEY (node, txid, idx)
	);
	CREATE TABLE chanfitness_alerts (
		node bytea NOT NULL REFERENCES chanfitness_nodes,
		key bytea NOT NULL,
		body bytea NOT NULL,
		created_s bigint NOT NULL,
		created_ns integer NOT NULL,
		pending text[] NOT NULL,
		attempts bigint NOT NULL,
		next_s bigint NOT NULL,
		next_ns integer NOT NULL,
		PRIMARY KEY (node, key)
	);`,
	// The fleet view reads each log from a time on.
	`CREATE INDEX chanfitness_events_time
		ON chanfitness_events (node, peer, t_s);`,
	// Connection samples (pings, failed connects), numbered in write
	// order, and the spans filled from the node's own records.
	`CREATE TABLE chanfitness_samples (
		node bytea NOT NULL REFERENCES chanfitness_nodes,
		n bigint NOT NULL,
		peer bytea NOT NULL,
		t_s bigint NOT NULL,
		t_ns integer NOT NULL,
		kind smallint NOT NULL,
		rtt bigint NOT NULL,
		PRIMARY KEY (node, n)
	);
	CREATE INDEX chanfitness_samples_time
		ON chanfitness_samples (node, t_s, t_ns);
	CREATE TABLE chanfitness_filled (
		node bytea NOT NULL REFERENCES chanfitness_nodes,
		n bigint NOT NULL,
		start_s bigint NOT NULL,
		start_ns integer NOT NULL,
		end_s bigint NOT NULL,
		end_ns integer NOT NULL,
		backfill boolean NOT NULL,
		PRIMARY KEY (node, n)
	);`,
	// Logs in chunks of packed events (see chunks.go): a row per write
	// and peer, merged as they accumulate. The events move over, a
	// chunk per peer.
	`CREATE TABLE chanfitness_logs (
		node bytea NOT NULL REFERENCES chanfitness_nodes,
		peer bytea NOT NULL,
		seq bigint NOT NULL,
		n integer NOT NULL CHECK (n > 0),
		last_s bigint NOT NULL,
		data bytea NOT NULL,
		PRIMARY KEY (node, peer, seq)
	);
	INSERT INTO chanfitness_logs (node, peer, seq, n, last_s, data)
		SELECT node, peer, 0, count(*), max(t_s),
			string_agg(int8send(t_s) || int4send(t_ns) ||
				int2send(state), ''::bytea ORDER BY seq)
		FROM chanfitness_events GROUP BY node, peer;
	DROP TABLE chanfitness_events;`,
	// The latest sample cut of each node (none while NULL): a sample
	// older than it, even one written after it, is never stored. The
	// cuts of earlier steps deleted what was older then, and were not
	// kept; a node's next cut is kept.
	`ALTER TABLE chanfitness_nodes
		ADD COLUMN cut_s bigint,
		ADD COLUMN cut_ns integer,
		ADD CONSTRAINT chanfitness_nodes_cut
			CHECK ((cut_s IS NULL) = (cut_ns IS NULL));`,
}

// schemaLockKey is the advisory lock key held while the schema is
// migrated.
const schemaLockKey int64 = 0x6368616e66697401 // "chanfit" 1

// migrate brings the schema to the newest version and returns the
// version it found. A database whose schema is newer than this program
// knows is refused.
func migrate(ctx context.Context, conn *pgx.Conn) (int, error) {
	return migrateTo(ctx, conn, len(migrations))
}

// migrateTo brings the schema to version to (at most the newest), as a
// program that knew only the steps up to it would have left it.
func migrateTo(ctx context.Context, conn *pgx.Conn, to int) (int, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`,
		schemaLockKey); err != nil {

		return 0, err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS
		chanfitness_schema (version integer NOT NULL)`); err != nil {
		return 0, err
	}
	var version int
	err = tx.QueryRow(ctx, `SELECT version FROM chanfitness_schema`).
		Scan(&version)
	switch {
	case err == pgx.ErrNoRows:
		if _, err := tx.Exec(ctx, `INSERT INTO chanfitness_schema
			VALUES (0)`); err != nil {
			return 0, err
		}
	case err != nil:
		return 0, err
	}
	if version > len(migrations) {
		return 0, fmt.Errorf("%w: the database's chanfitness schema "+
			"is version %d, newer than this program knows (%d): "+
			"run a newer chanfitness", ErrSchema, version,
			len(migrations))
	}
	for v := version; v < to; v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return 0, fmt.Errorf("schema step %d: %w", v+1, err)
		}
	}
	if version < to {
		if _, err := tx.Exec(ctx, `UPDATE chanfitness_schema
			SET version = $1`, to); err != nil {
			return 0, err
		}
	}
	return version, tx.Commit(ctx)
}
