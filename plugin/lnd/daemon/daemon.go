// Package daemon is the chanfitness-lnd companion: it runs the chanfitness
// monitor against an lnd node, keeps its history in a store, and serves
// the report, the timeline page, a health check, Prometheus metrics and
// (on the postgres store) the fleet view over HTTP. Its report, advice
// and fleet commands ask a running daemon; restore and migrate work on
// a stopped one's history.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/btcsuite/btclog/v2"
	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/httpapi"
	"github.com/chanfitness/chanfitness/plugin/internal/advice"
	lndsource "github.com/chanfitness/chanfitness/plugin/lnd"
	"github.com/chanfitness/chanfitness/storage"
	"github.com/jessevdk/go-flags"
	"github.com/lightningnetwork/lnd/clock"
)

// shutdownTimeout bounds the wait for HTTP requests in flight at exit.
const shutdownTimeout = 5 * time.Second

// Env is what Run takes from its surroundings.
type Env struct {
	// Stdout receives the report command's output and --help; Stderr
	// the log. Nil discards.
	Stdout, Stderr io.Writer

	// Clock is the time of the monitor and the source; nil means the
	// system clock.
	Clock clock.Clock

	// Ready, when set, is called with the HTTP server's address once it
	// listens and the monitor runs.
	Ready func(addr string)
}

// Run runs chanfitness-lnd with the command line args (without the
// program name) until ctx is done, and returns why it stopped: nil after
// a normal shutdown.
func Run(ctx context.Context, args []string, env Env) error {
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.Clock == nil {
		env.Clock = clock.NewDefaultClock()
	}

	cfg, cmd, err := parse(args)
	var ferr *flags.Error
	switch {
	case errors.As(err, &ferr) && ferr.Type == flags.ErrHelp:
		fmt.Fprintln(env.Stdout, err)
		return nil
	case err != nil:
		return err
	case cmd == "report":
		return runReport(ctx, cfg, env.Stdout)
	case cmd == "advice":
		return runAdvice(ctx, cfg, env.Stdout)
	case cmd == "fleet":
		return runFleet(ctx, cfg, env.Stdout)
	case cmd == "migrate":
		return runMigrate(ctx, cfg, env)
	case cmd == "restore":
		msg, err := storage.Restore(storeDir(cfg), cfg.Restore.From)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, msg)
		return nil
	}
	return runDaemon(ctx, cfg, env)
}

// parse reads the command line; cmd is the command it names ("" for the
// daemon).
func parse(args []string) (cfg *Config, cmd string, err error) {
	cfg = defaultConfig()
	parser := flags.NewParser(cfg, flags.HelpFlag|flags.PassDoubleDash)
	parser.SubcommandsOptional = true
	rest, err := parser.ParseArgs(args)
	if err != nil {
		return nil, "", err
	}
	if len(rest) > 0 {
		// A misspelt command must not start the daemon.
		return nil, "", fmt.Errorf("unexpected argument %q (the commands "+
			"are report, advice, fleet, restore and migrate)",
			rest[0])
	}
	if err := cfg.resolve(); err != nil {
		return nil, "", err
	}
	if parser.Active != nil {
		cmd = parser.Active.Name
	}
	if cfg.Postgres.DSN != "" && cfg.Store != storage.KindPostgres &&
		cmd != "migrate" {
		// Not silently ignored: the history would go elsewhere.
		return nil, "", fmt.Errorf("postgres.dsn is given but the "+
			"store is %s: add --store=postgres", cfg.Store)
	}
	return cfg, cmd, nil
}

// runDaemon runs the companion: it opens the store, starts the monitor
// on an lnd source, serves HTTP, and stops them in turn when ctx is done,
// lnd refuses the companion for good, or the HTTP server fails.
func runDaemon(ctx context.Context, cfg *Config, env Env) error {
	logs, err := newLogs(env.Stderr, env.Clock.Now, cfg.DebugLevel)
	if err != nil {
		return err
	}
	log := logs.daemon

	if err := checkMacaroon(cfg.Lnd.MacaroonPath, log); err != nil {
		return err
	}

	src := newSource(cfg, env, log)
	store, err := openStore(ctx, cfg, src, logs.store)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Errorf("close store: %v", err)
		}
	}()

	mon, err := newMonitor(cfg, env, store, src, logs.monitor)
	if err != nil {
		return err
	}
	fl, err := newFleet(cfg)
	if err != nil {
		return err
	}
	defer fl.Close()
	srv, err := listenHTTP(cfg, env, mon, fl, log)
	if err != nil {
		return err
	}

	if err := mon.Start(ctx); err != nil {
		srv.Close()
		return fmt.Errorf("start monitor: %w", err)
	}
	adv, err := advice.Start(ctx, cfg.advice, mon, env.Clock, log)
	if err != nil {
		srv.Close()
		return errors.Join(err, mon.Stop())
	}
	defer adv.Stop()
	serveErr := make(chan error, 1)
	go func() {
		serveErr <- srv.Serve()
	}()
	logServing(srv, log)
	if env.Ready != nil {
		env.Ready(srv.Addr().String())
	}

	runErr := waitStop(ctx, src, serveErr, log)
	adv.Stop()
	return shutdown(srv, mon, runErr, log)
}

// newSource is the lnd event source the flags describe.
func newSource(cfg *Config, env Env, log btclog.Logger) *lndsource.Source {
	return lndsource.NewSource(lndsource.Config{
		Conn: lndsource.ConnConfig{
			Host:         cfg.Lnd.Host,
			TLSCertPath:  cfg.Lnd.TLSCertPath,
			MacaroonPath: cfg.Lnd.MacaroonPath,
		},
		Clock:             env.Clock,
		ReconcileInterval: time.Duration(cfg.ReconcileInterval),
		Logger:            log,
	})
}

// newMonitor is the monitor over store and src the flags describe.
func newMonitor(cfg *Config, env Env, store core.Store,
	src core.EventSource, log btclog.Logger) (*core.Monitor, error) {

	return core.NewMonitor(core.Config{
		Store:           store,
		Clock:           env.Clock,
		Source:          src,
		Logger:          log,
		ClosedRetention: cfg.coreRetention(),
		SyncInterval:    time.Duration(cfg.SyncInterval),
		Verdict:         cfg.advice.Verdict,
	})
}

// listenHTTP opens the HTTP listener that serves mon; Serve starts it.
func listenHTTP(cfg *Config, env Env, mon *core.Monitor,
	fl *fleetView, log btclog.Logger) (*httpapi.Server, error) {

	return httpapi.Listen(httpapi.Config{
		Fleet:           fl.fn(),
		Listen:          cfg.Listen,
		Insecure:        cfg.ListenOpts.Insecure,
		DataDir:         cfg.DataDir,
		TLSCertPath:     cfg.TLS.CertPath,
		TLSKeyPath:      cfg.TLS.KeyPath,
		TLSExtraDomains: cfg.TLS.ExtraDomains,
		TLSExtraIPs:     cfg.TLS.ExtraIPs,
		TokenPath:       cfg.Auth.TokenPath,
		Now:             env.Clock.Now,
		Logger:          log,
	}, mon)
}

// logServing says where the paths are served and what they need.
func logServing(srv *httpapi.Server, log btclog.Logger) {
	if srv.Insecure {
		log.Infof("serving the timeline page, %s, %s, %s and %s on "+
			"%s", httpapi.PathReport, httpapi.PathTimeline,
			httpapi.PathHealth, httpapi.PathMetrics, srv.URL())
		return
	}
	log.Infof("serving the timeline page, %s, %s, %s and %s on %s "+
		"(certificate %s; every path but %s needs the token in %s)",
		httpapi.PathReport, httpapi.PathTimeline, httpapi.PathHealth,
		httpapi.PathMetrics, srv.URL(), srv.CertPath,
		httpapi.PathHealth, srv.TokenPath)
}

// waitStop waits for the reason to stop: ctx done (nil), the source
// giving up, or the HTTP server failing.
func waitStop(ctx context.Context, src *lndsource.Source,
	serveErr <-chan error, log btclog.Logger) error {

	select {
	case <-ctx.Done():
		log.Infof("shutting down")
		return nil
	case <-src.Fatal():
		return src.Err()
	case err := <-serveErr:
		return fmt.Errorf("HTTP server: %w", err)
	}
}

// shutdown stops the HTTP server and then the monitor, and returns runErr
// or, failing that, the monitor's stop error.
func shutdown(srv *httpapi.Server, mon *core.Monitor, runErr error,
	log btclog.Logger) error {

	sctx, cancel := context.WithTimeout(context.Background(),
		shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warnf("HTTP shutdown: %v", err)
	}
	if err := mon.Stop(); err != nil && runErr == nil {
		runErr = fmt.Errorf("stop monitor: %w", err)
	}
	return runErr
}

// checkMacaroon reads what the macaroon grants: a missing permission is
// an error, an admin macaroon a warning.
func checkMacaroon(path string, log btclog.Logger) error {
	mac, err := lndsource.LoadMacaroon(path)
	if err != nil {
		return fmt.Errorf("%w (set --lnd.macaroonpath, or bake one "+
			"with: %s)", err, lndsource.BakeCommand)
	}
	perms, err := lndsource.MacaroonPermissions(mac)
	if err != nil {
		log.Warnf("cannot read the permissions of %s (%v); lnd will "+
			"check them", path, err)
		return nil
	}
	if err := perms.Check(path); err != nil {
		return err
	}
	if w := perms.Writes(); len(w) > 0 {
		log.Warnf("macaroon %s can change the node (%s): the "+
			"companion only reads, a narrower macaroon suffices: %s",
			path, strings.Join(w, ", "), lndsource.BakeCommand)
	} else if x := perms.Extra(); len(x) > 0 {
		log.Infof("macaroon %s grants more than the companion uses "+
			"(%s); a narrower one: %s", path, strings.Join(x, ", "),
			lndsource.BakeCommand)
	}
	if !perms.CanReadBlocks() {
		log.Infof("macaroon %s lacks the optional onchain:read: the "+
			"open times of channels older than the companion are "+
			"estimated from their funding height (10 minutes a "+
			"block); with it they are read from the funding "+
			"block: %s", path, lndsource.BakeCommand)
	}
	return nil
}

// runMigrate copies the badger history into PostgreSQL under the node's
// public key, which it asks lnd for.
func runMigrate(ctx context.Context, cfg *Config, env Env) error {
	if err := storage.MigrateKinds(cfg.Migrate.From,
		cfg.Migrate.To); err != nil {
		return err
	}
	if cfg.Postgres.DSN == "" {
		return errors.New("migrate: give the database with " +
			"--postgres.dsn")
	}
	logs, err := newLogs(env.Stderr, env.Clock.Now, cfg.DebugLevel)
	if err != nil {
		return err
	}
	node, err := newSource(cfg, env, logs.daemon).Identity(ctx)
	if err != nil {
		return fmt.Errorf("migrate: learn the node's identity: %w", err)
	}
	msg, err := storage.Migrate(ctx, storeDir(cfg), storage.Options{
		DSN: cfg.Postgres.DSN, Node: node, Logger: logs.store})
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, msg)
	return nil
}

// storeDir is the badger store's directory.
func storeDir(cfg *Config) string {
	return filepath.Join(cfg.DataDir, "badger")
}

// openStore opens the store --store names. The PostgreSQL store keeps
// the history under the node's public key, which src asks lnd for.
func openStore(ctx context.Context, cfg *Config, src *lndsource.Source,
	log btclog.Logger) (core.Store, error) {

	dir := ""
	switch cfg.Store {
	case storage.KindPostgres:
		node, err := src.Identity(ctx)
		if err != nil {
			return nil, fmt.Errorf("learn the node's identity for "+
				"the postgres store: %w", err)
		}
		st, err := storage.Open(storage.KindPostgres, "",
			storage.Options{Logger: log, DSN: cfg.Postgres.DSN,
				Node: node})
		if err != nil {
			return nil, err
		}
		log.Infof("history kept in the %v", st)
		return st, nil
	case storage.KindMemory:
		log.Warnf("memory store: history is lost when the companion " +
			"stops")
	case storage.KindBadger, "":
		dir = storeDir(cfg)
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		return storage.Open(storage.KindBadger, dir,
			storage.Options{Logger: log})
	}
	return storage.Open(cfg.Store, dir, storage.Options{Logger: log})
}

// Main runs chanfitness-lnd with the process's command line until SIGINT
// or SIGTERM.
func Main() error {
	ctx, stop := signalContext()
	defer stop()
	return Run(ctx, os.Args[1:], Env{Stdout: os.Stdout, Stderr: os.Stderr})
}
