// Command chanfitness-cln is the chanfitness plugin for Core Lightning.
// lightningd starts it (--plugin=/path/to/chanfitness-cln, or
// lightning-cli plugin start /path/to/chanfitness-cln); it adds the
// chanfitness, chanfitness-advice and chanfitness-fleet commands. See the
// README.
//
// Run by hand while the node is stopped, chanfitness-cln restore
// --datadir=DIR [--from=FILE] rebuilds the history in DIR from its
// backup, and chanfitness-cln migrate --from=badger --to=postgres
// --datadir=DIR --postgres-dsn=DSN --node=ID copies it into PostgreSQL.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/cln"
	"github.com/chanfitness/chanfitness/storage"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "restore" {
		if err := restore(os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "chanfitness-cln restore: %v\n",
				err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "migrate" {
		if err := migrate(context.Background(), os.Args[2:],
			os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "chanfitness-cln migrate: %v\n",
				err)
			os.Exit(1)
		}
		return
	}
	if err := cln.Main(); err != nil {
		// stderr: stdout belongs to lightningd.
		fmt.Fprintf(os.Stderr, "chanfitness-cln: %v\n", err)
		os.Exit(1)
	}
}

// restore runs the restore command with its arguments.
func restore(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(out)
	datadir := fs.String("datadir", "", "the history directory (the "+
		"plugin's chanfitness-datadir, e.g. "+
		"~/.lightning/bitcoin/chanfitness)")
	from := fs.String("from", "", "backup file to restore (default: "+
		"the newest intact backup in the history directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *datadir == "" || fs.NArg() > 0 {
		return fmt.Errorf("usage: chanfitness-cln restore " +
			"--datadir=DIR [--from=FILE], with the node stopped")
	}
	msg, err := storage.Restore(*datadir, *from)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, msg)
	return err
}

// migrate runs the migrate command with its arguments.
func migrate(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(out)
	from := fs.String("from", storage.KindBadger, "the store to copy "+
		"from")
	to := fs.String("to", storage.KindPostgres, "the store to copy into")
	datadir := fs.String("datadir", "", "the history directory (the "+
		"plugin's chanfitness-datadir, e.g. "+
		"~/.lightning/bitcoin/chanfitness)")
	dsn := fs.String("postgres-dsn", "", "the database, as the "+
		"plugin's chanfitness-postgres-dsn")
	node := fs.String("node", "", "the node's id (lightning-cli "+
		"getinfo's id)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *datadir == "" || *dsn == "" || *node == "" || fs.NArg() > 0 {
		return fmt.Errorf("usage: chanfitness-cln migrate " +
			"--from=badger --to=postgres --datadir=DIR " +
			"--postgres-dsn=DSN --node=ID, with the plugin stopped")
	}
	if err := storage.MigrateKinds(*from, *to); err != nil {
		return err
	}
	id, err := core.ParsePeerID(*node)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	msg, err := storage.Migrate(ctx, *datadir, storage.Options{
		DSN: *dsn, Node: id})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, msg)
	return err
}
