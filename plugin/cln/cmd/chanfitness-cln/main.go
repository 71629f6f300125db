// Command chanfitness-cln is the chanfitness plugin for Core Lightning.
// lightningd starts it (--plugin=/path/to/chanfitness-cln, or
// lightning-cli plugin start /path/to/chanfitness-cln); it adds the
// chanfitness command. See the README.
//
// Run by hand while the node is stopped, chanfitness-cln restore
// --datadir=DIR [--from=FILE] rebuilds the history in DIR from its
// backup.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

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
