package cln

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
)

// Main runs the plugin on the process's stdin and stdout, as lightningd
// starts it. Before anything else it makes sure that nothing but protocol
// messages can reach stdout: descriptor 1 is pointed at stderr, and Go's
// standard logger, which glightning uses, becomes log notifications.
func Main() error {
	pipe, err := protectStdout()
	if err != nil {
		return err
	}
	out := newProtoWriter(pipe)
	log.SetFlags(0)
	log.SetOutput(lineLogger{out: out, level: levelUnusual})

	// glightning takes LIGHTNINGD_PLUGIN as its cue to redirect the
	// standard logger through a goroutine of its own that calls
	// log.Fatal on error. The logger is already taken care of above.
	if err := os.Unsetenv("LIGHTNINGD_PLUGIN"); err != nil {
		return fmt.Errorf("unset LIGHTNINGD_PLUGIN: %w", err)
	}

	// Ctrl-C on a lightningd in the foreground reaches its plugins too:
	// stop in order rather than die mid-write.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt,
		syscall.SIGTERM)
	defer stop()

	return run(ctx, Config{In: os.Stdin, Out: pipe}, out)
}
