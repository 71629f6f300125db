package cln

import (
	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/badger"
)

// openBadger opens the badger store in dir; badger's own log lines go
// to log, never to stdout.
func openBadger(dir string, log core.Logger) (core.Store, error) {
	st, err := badger.Open(dir, badger.Options{Logger: log})
	if err != nil {
		// Not a typed nil in the interface.
		return nil, err
	}
	return st, nil
}
