package postgres

import "github.com/jackc/pgx/v5"

// SetAfterCommit sets a function run after each write's commit, whose
// error is taken as the write's.
func (s *Store) SetAfterCommit(f func(*pgx.Conn) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.afterCommit = f
}
