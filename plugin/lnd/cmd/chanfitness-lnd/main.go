// Command chanfitness-lnd is the chanfitness companion of an lnd node: it
// follows the node's peers and channels over gRPC with a read-only
// macaroon, keeps their uptime history, and serves a report, a timeline
// page and Prometheus metrics. Run it with --help for its options and
// commands.
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
