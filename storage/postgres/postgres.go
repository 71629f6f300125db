// Package postgres is a core.Store on PostgreSQL, for operators who keep
// the history of several nodes in one database they already run and back
// up. Every row belongs to a node, named by its public key; one monitor
// per node holds the node's advisory lock while its store is open, so a
// second one for the same node is refused while different nodes work
// side by side.
//
// Durability follows the store contract: a Write commits one transaction
// (with synchronous_commit off, so it waits for no disk flush: it is in
// the server, and survives this process being killed), and Sync commits
// with synchronous_commit on, which flushes the server's write-ahead log
// up to it. While the server cannot be reached, Write and Sync fail fast
// and the monitor keeps its batches in memory, in order; the store
// connects again on the next call. A write whose commit may or may not
// have reached the server (the connection broke at the commit) is settled
// on reconnect by a token the store writes in every transaction, so a
// batch is never applied twice.
package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Sentinel errors of the PostgreSQL store.
var (
	// ErrLocked is returned by Open, and by Write after a reconnect,
	// when another monitor holds the lock of the same node.
	ErrLocked = errors.New("another monitor holds this node's lock")

	// ErrSchema is returned by Open when the database's schema is
	// newer than this program knows.
	ErrSchema = errors.New("unknown schema version")

	// ErrUnreachable wraps the failure to connect to the server.
	ErrUnreachable = errors.New("database unreachable")
)

// DefaultTimeout bounds one call to the database (connecting included)
// when Options.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// Options configures Open.
type Options struct {
	// DSN is the connection string: a URL
	// (postgres://user:password@host:port/db?sslmode=...) or key=value
	// pairs, as libpq reads them; PG* environment variables fill what
	// it leaves out. Its password never appears in a log line or an
	// error.
	DSN string

	// Node is the public key of the node whose history this is.
	Node core.PeerID

	// Logger receives the store's log lines; nil discards them.
	Logger core.Logger

	// Timeout bounds each call to the database; zero means
	// DefaultTimeout.
	Timeout time.Duration
}

// Store is the PostgreSQL core.Store of one node. Its methods are safe
// for concurrent use; calls take turns on one connection.
type Store struct {
	cfg    *pgx.ConnConfig
	node   []byte
	nodeID core.PeerID
	log    core.Logger
	limit  time.Duration // bound of each call
	where  string        // the database, without the password
	scrub  func(string) string

	mu     sync.Mutex
	closed bool
	conn   *pgx.Conn // nil while not connected
	down   error     // why the last connection attempt failed

	// logLen is each peer's number of stored events, gaps the number of
	// stored gaps: the store is the node's only writer while it holds
	// the lock.
	logLen map[core.PeerID]uint64
	gaps   int64

	// chunks holds the sizes of each peer's log chunks, in order.
	chunks map[core.PeerID][]int

	// samples and filled number the next sample and filled span.
	samples, filled int64

	// token is the write token of the last transaction attempted;
	// unsure, when set, is a write whose commit is in doubt.
	token  int64
	unsure *attempt

	dirty bool // written since the last Sync

	// afterCommit, set by tests, runs after a write's commit; an error
	// it returns is taken as the write's.
	afterCommit func(*pgx.Conn) error
}

// attempt is a write whose outcome is unknown: its token and the
// batch's fingerprint. committed is set once a reconnect found its token
// in the database.
type attempt struct {
	token     int64
	sum       [32]byte
	committed bool
}

var _ core.Store = (*Store)(nil)

// Open connects to the database, migrates its schema, takes the node's
// lock and reads the counts the store checks writes against. A DSN that
// does not parse, an unreachable server, a lock held by another monitor
// and a schema newer than this program each fail with an error naming
// the database (never its password).
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Node.IsZero() {
		return nil, errors.New("postgres store: no node public key")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	cfg, err := parseDSN(opts.DSN, opts.Timeout)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["synchronous_commit"] = "off"
	s := &Store{
		cfg:    cfg,
		node:   append([]byte(nil), opts.Node[:]...),
		nodeID: opts.Node,
		log:    opts.Logger,
		limit:  opts.Timeout,
		where:  describe(cfg),
		scrub:  scrubber(cfg.Password),
		logLen: make(map[core.PeerID]uint64),
		chunks: make(map[core.PeerID][]int),
	}
	if s.log == nil {
		s.log = nopLogger{}
	}
	ctx, cancel := context.WithTimeout(ctx, s.limit)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.connect(ctx, true); err != nil {
		return nil, err
	}
	return s, nil
}

// parseDSN reads a connection string. Its error names no part of it.
func parseDSN(dsn string, timeout time.Duration) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN; ours names no part of it.
		return nil, errors.New("postgres store: the connection " +
			"string does not parse (check its syntax; it is not " +
			"repeated here since it may hold a password)")
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > timeout {
		cfg.ConnectTimeout = timeout
	}
	cfg.RuntimeParams["application_name"] = "chanfitness"
	// The queries are short and planned once; compiling them costs
	// more than it saves (the fleet view's took longer to compile than
	// to run).
	cfg.RuntimeParams["jit"] = "off"
	// Statements are prepared once per connection and reused.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement
	return cfg, nil
}

// Node returns the public key of the node whose history this is.
func (s *Store) Node() core.PeerID {
	return s.nodeID
}

// String names the store's database and node, without the password.
func (s *Store) String() string {
	return fmt.Sprintf("PostgreSQL store of node %v in %s", s.nodeID,
		s.where)
}

// describe names the database of cfg without its password.
func describe(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("database %q on %s as user %q", cfg.Database,
		net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), cfg.User)
}

// scrubber returns a function that removes the password from a message.
func scrubber(password string) func(string) string {
	if password == "" {
		return func(s string) string { return s }
	}
	return func(s string) string {
		return strings.ReplaceAll(s, password, "********")
	}
}

// fail wraps err with what failed, removing the password from the text.
func (s *Store) fail(what string, err error) error {
	return &storeError{msg: s.scrub(fmt.Sprintf("%s: %s: %v", what,
		s.where, err)), err: err}
}

// storeError is an error whose text has no password in it, and which
// still matches the sentinels and context errors it wraps.
type storeError struct {
	msg string
	err error
}

func (e *storeError) Error() string { return e.msg }
func (e *storeError) Unwrap() error { return e.err }

// lockKey is the node's advisory lock key.
func lockKey(node []byte) int64 {
	h := sha256.Sum256(append([]byte("chanfitness node lock "), node...))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// connect opens the connection, takes the node's lock and, the first
// time, migrates the schema and creates the node's row; then it reads the
// counts and settles a write left in doubt. Callers hold mu.
func (s *Store) connect(ctx context.Context, first bool) error {
	conn, err := pgx.ConnectConfig(ctx, s.cfg)
	if err != nil {
		if ctx.Err() != nil && !first {
			return ctx.Err()
		}
		return s.fail("connect", fmt.Errorf("%w: %w", ErrUnreachable,
			err))
	}
	ok := false
	defer func() {
		if !ok {
			_ = conn.Close(context.Background())
		}
	}()
	// A session that just ended (this store's own, broken, or a
	// monitor's that was killed) holds the lock until the server has
	// noticed: wait for it a moment before calling it taken.
	b := &pgx.Batch{}
	b.Queue(`SET lock_timeout = '3s'`)
	b.Queue(`SELECT pg_advisory_lock($1)`, lockKey(s.node))
	b.Queue(`SET lock_timeout = 0`)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "55P03" {
			return s.fail("open", fmt.Errorf("%w: node %v "+
				"already has a monitor writing its history "+
				"here (one monitor per node and database)",
				ErrLocked, s.nodeID))
		}
		return s.fail("take the node's lock", err)
	}
	if first {
		from, err := migrate(ctx, conn)
		if err != nil {
			return s.fail("migrate the schema", err)
		}
		if from < len(migrations) {
			s.log.Infof("database schema migrated from version %d "+
				"to %d", from, len(migrations))
		}
		z := split(time.Time{})
		if _, err := conn.Exec(ctx, `INSERT INTO chanfitness_nodes
			(node, since_s, since_ns, heartbeat_s, heartbeat_ns)
			VALUES ($1, $2, $3, $2, $3) ON CONFLICT DO NOTHING`,
			s.node, z.s, z.ns); err != nil {

			return s.fail("register the node", err)
		}
	}
	if err := s.readCounts(ctx, conn); err != nil {
		return s.fail("read the history's counts", err)
	}
	ok = true
	s.conn = conn
	if s.down != nil {
		s.log.Infof("connected to %s again", s.where)
		s.down = nil
	}
	return nil
}

// readCounts reads the write token, the number of gaps and each peer's
// number of events, and settles a write left in doubt.
func (s *Store) readCounts(ctx context.Context, conn *pgx.Conn) error {
	var token int64
	if err := conn.QueryRow(ctx, `SELECT write_token FROM
		chanfitness_nodes WHERE node = $1`, s.node).Scan(&token); err != nil {
		return err
	}
	if s.unsure != nil {
		// The write in doubt committed if its token is there; the
		// counts read below include it then.
		s.unsure.committed = token == s.unsure.token
	}
	s.token = token
	if err := conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM chanfitness_gaps WHERE node = $1),
		(SELECT coalesce(max(n) + 1, 0) FROM chanfitness_samples
			WHERE node = $1),
		(SELECT coalesce(max(n) + 1, 0) FROM chanfitness_filled
			WHERE node = $1)`, s.node).Scan(&s.gaps, &s.samples,
		&s.filled); err != nil {
		return err
	}
	return s.readChunks(ctx, conn)
}

// ready returns the connection, connecting again if it was lost. Callers
// hold mu.
func (s *Store) ready(ctx context.Context, what string) (*pgx.Conn,
	error) {

	if s.closed {
		return nil, fmt.Errorf("%s: %w", what, base.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.conn != nil && !s.conn.IsClosed() {
		return s.conn, nil
	}
	s.conn = nil
	if err := s.connect(ctx, false); err != nil {
		if s.down == nil {
			s.log.Warnf("%v", err)
		}
		s.down = err
		return nil, err
	}
	return s.conn, nil
}

// broken closes the connection after an error that may have left it
// unusable: the next call connects again.
func (s *Store) broken(err error) {
	if s.conn == nil {
		return
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && !s.conn.IsClosed() &&
		!strings.HasPrefix(pgErr.Code, "57") &&
		!strings.HasPrefix(pgErr.Code, "08") {
		// An error of the statement; the connection is fine.
		return
	}
	_ = s.conn.Close(context.Background())
	s.conn = nil
}

// Sync flushes the server's write-ahead log up to the last write: a
// transaction committed with synchronous_commit on. With nothing written
// since the last Sync it does nothing.
func (s *Store) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("sync: %w", base.ErrClosed)
	}
	if !s.dirty {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.limit)
	defer cancel()
	conn, err := s.ready(ctx, "sync")
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SET LOCAL synchronous_commit TO on`)
	b.Queue(`UPDATE chanfitness_nodes SET write_token = write_token
		WHERE node = $1`, s.node)
	b.Queue(`COMMIT`)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		s.broken(err)
		return s.fail("sync", err)
	}
	s.dirty = false
	return nil
}

// Close releases the node's lock and closes the connection. It is safe to
// call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.limit)
	defer cancel()
	// The lock goes with the session, but the server ends a session a
	// moment after the connection closes: unlock first, so that a
	// monitor started right after this one finds it free.
	_, _ = s.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`,
		lockKey(s.node))
	err := s.conn.Close(ctx)
	s.conn = nil
	if err != nil {
		return s.fail("close", err)
	}
	return nil
}

type nopLogger struct{}

func (nopLogger) Debugf(string, ...any) {}
func (nopLogger) Infof(string, ...any)  {}
func (nopLogger) Warnf(string, ...any)  {}
func (nopLogger) Errorf(string, ...any) {}
