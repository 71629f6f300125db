package storage

import (
	"context"
	"errors"
	"fmt"
	"os"

	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/chanfitness/chanfitness/storage/postgres"
)

// MigrateKinds checks the --from and --to of the migrate commands: the
// one migration there is copies a badger store into PostgreSQL.
func MigrateKinds(from, to string) error {
	if from != KindBadger || to != KindPostgres {
		return fmt.Errorf("migrate from %q to %q: the migration "+
			"there is goes from %s to %s", from, to, KindBadger,
			KindPostgres)
	}
	return nil
}

// Migrate copies the badger store in dir into the PostgreSQL database of
// opts.DSN as the history of node opts.Node, for the migrate command of
// both front ends. The monitor must be stopped (the badger store and the
// node's lock in the database are both taken). The copy, the badger
// store's sample cut with it, is one transaction, checked by counting
// what the database holds; run again, it finds the same counts and
// copies nothing. A node that already has another history in the
// database is refused. Migrate returns a sentence saying what it did.
func Migrate(ctx context.Context, dir string, opts Options) (string,
	error) {

	if opts.DSN == "" {
		return "", errors.New("migrate: no PostgreSQL connection " +
			"string (DSN) given")
	}
	if opts.Node.IsZero() {
		return "", errors.New("migrate: no node public key given")
	}
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("migrate: no badger store to copy: %w",
			err)
	}
	src, err := badgerstore.Open(dir, badgerstore.Options{
		Logger: opts.Logger})
	if err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	defer src.Close()
	st, err := src.Load(ctx)
	if err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	cut, err := src.SampleCut()
	if err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	dst, err := postgres.Open(ctx, postgres.Options{DSN: opts.DSN,
		Node: opts.Node, Logger: opts.Logger})
	if err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	defer dst.Close()
	copied, err := dst.Import(ctx, st, cut)
	if err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	n := postgres.CountState(st)
	if !copied {
		return fmt.Sprintf("the %v already holds the history of %s "+
			"(%v): nothing copied", dst, dir, n), nil
	}
	return fmt.Sprintf("copied the history of %s into the %v: %v, "+
		"counted again in the database; start the monitor with the "+
		"postgres store (%s stays as it was)", dir, dst, n, dir), nil
}
