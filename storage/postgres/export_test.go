package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// SetAfterCommit sets a function run after each write's commit, whose
// error is taken as the write's.
func (s *Store) SetAfterCommit(f func(*pgx.Conn) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.afterCommit = f
}

// SchemaVersion is the newest schema version.
var SchemaVersion = len(migrations)

// MigrateTo brings the schema of the database of dsn to version v, as a
// program that knew only the steps up to v would have left it.
func MigrateTo(ctx context.Context, dsn string, v int) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = migrateTo(ctx, conn, v)
	return err
}
