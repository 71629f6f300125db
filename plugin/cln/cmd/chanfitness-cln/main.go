// Command chanfitness-cln is the chanfitness plugin for Core Lightning.
// lightningd starts it (--plugin=/path/to/chanfitness-cln, or
// lightning-cli plugin start /path/to/chanfitness-cln); it adds the
// chanfitness command. See the README.
package main

import (
	"fmt"
	"os"

	"github.com/chanfitness/chanfitness/plugin/cln"
)

func main() {
	if err := cln.Main(); err != nil {
		// stderr: stdout belongs to lightningd.
		fmt.Fprintf(os.Stderr, "chanfitness-cln: %v\n", err)
		os.Exit(1)
	}
}
