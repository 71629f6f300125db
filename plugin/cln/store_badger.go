package cln

import (
	"errors"

	"github.com/chanfitness/chanfitness/core"
)

// openBadger opens the badger store in dir.
func openBadger(dir string, log core.Logger) (core.Store, error) {
	return nil, errors.New("badger store: not available yet")
}
