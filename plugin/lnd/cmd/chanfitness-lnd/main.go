// Command chanfitness-lnd is the chanfitness companion of an lnd node: it
// follows the node's peers and channels over gRPC with a read-only
// macaroon, keeps their uptime history, and serves a report and
// Prometheus metrics. Run it with --help for its options.
package main

import (
	"fmt"
	"os"

	"github.com/chanfitness/chanfitness/plugin/lnd/daemon"
)

func main() {
	if err := daemon.Main(); err != nil {
		fmt.Fprintln(os.Stderr, "chanfitness-lnd:", err)
		os.Exit(1)
	}
}
