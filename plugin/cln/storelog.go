package cln

import "github.com/chanfitness/chanfitness/core"

// storeLogger is the store's logger on Core Lightning. badger logs every
// write at debug, four lines or more per heartbeat, which would bury the
// flaps an operator reads at debug in the node's log; so the store's
// debug lines (badger's informational ones among them) are dropped.
// Its warnings and errors reach the node at "unusual", never "broken",
// which lightningd keeps for its own bugs.
type storeLogger struct {
	l core.Logger
}

// Debugf drops the line.
func (storeLogger) Debugf(string, ...any) {}

// Infof logs at info level.
func (s storeLogger) Infof(format string, args ...any) {
	s.l.Infof(format, args...)
}

// Warnf logs at lightningd's "unusual" level.
func (s storeLogger) Warnf(format string, args ...any) {
	s.l.Warnf(format, args...)
}

// Errorf logs at lightningd's "unusual" level too.
func (s storeLogger) Errorf(format string, args ...any) {
	s.l.Warnf(format, args...)
}
