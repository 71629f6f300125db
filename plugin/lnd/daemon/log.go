package daemon

import (
	"fmt"
	"io"
	"time"

	"github.com/btcsuite/btclog/v2"
	"github.com/lightningnetwork/lnd/build"
)

// Subsystems of the companion's log, each with its own level, as lnd's
// subsystems have.
const (
	// SubsysDaemon tags the companion's own lines: lnd connection,
	// macaroon, HTTP server.
	SubsysDaemon = "LNDC"

	// SubsysStore tags the store's lines.
	SubsysStore = "STOR"

	// SubsysMonitor tags the monitor's lines: flaps, channels, gaps.
	SubsysMonitor = "CHFT"
)

// logs are the companion's subsystem loggers, writing lnd's format
// ("<time> [INF] <SUBS>: <message>") through btclog.
type logs struct {
	mgr     *build.SubLoggerManager
	daemon  btclog.Logger
	store   btclog.Logger
	monitor btclog.Logger
}

// newLogs returns the loggers writing to w, stamped by now, at the levels
// of spec, a --debuglevel value as lnd reads its own: a level for every
// subsystem ("debug"), levels per subsystem ("STOR=warn,CHFT=debug"), or
// both ("info,CHFT=debug"). The levels are trace, debug, info, warn,
// error, critical and off.
func newLogs(w io.Writer, now func() time.Time, spec string) (*logs,
	error) {

	h := btclog.NewDefaultHandler(w, btclog.WithTimeSource(now))
	mgr := build.NewSubLoggerManager(h)
	l := &logs{
		mgr:     mgr,
		daemon:  mgr.GenSubLogger(SubsysDaemon, func() {}),
		store:   mgr.GenSubLogger(SubsysStore, func() {}),
		monitor: mgr.GenSubLogger(SubsysMonitor, func() {}),
	}
	// Every subsystem starts at info; spec changes what it names.
	mgr.SetLogLevels(DefaultDebugLevel)
	if err := build.ParseAndSetDebugLevels(spec, mgr); err != nil {
		return nil, fmt.Errorf("debuglevel %q: %w", spec, err)
	}
	return l, nil
}

// checkDebugLevel returns an error naming what is wrong with a
// --debuglevel value.
func checkDebugLevel(spec string) error {
	_, err := newLogs(io.Discard, time.Now, spec)
	return err
}
