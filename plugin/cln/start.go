package cln

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/internal/duration"
	"github.com/chanfitness/chanfitness/storage"
	"github.com/elementsproject/glightning/glightning"
	"github.com/lightningnetwork/lnd/ticker"
)

// bootstrap builds a running instance.
func (r *runner) bootstrap(p *glightning.Plugin,
	c *glightning.Config) (*instance, error) {

	vals, err := readOptions(p)
	if err != nil {
		return nil, err
	}
	set, err := vals.check()
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("init without configuration")
	}
	rpcPath := c.RpcFile
	if rpcPath == "" {
		rpcPath = rpcFileDefault
	}
	if !filepath.IsAbs(rpcPath) {
		rpcPath = filepath.Join(c.LightningDir, rpcPath)
	}

	ctx, cancel := context.WithTimeout(r.rpcCtx, bootstrapTimeout)
	defer cancel()
	s := &instance{log: r.log}
	s.rpc = newRPCClient(rpcPath, r.cfg.Clock)
	info, err := s.rpc.GetInfo(ctx)
	if err != nil {
		_ = s.close("")
		return nil, fmt.Errorf("lightningd RPC at %s: %w", rpcPath, err)
	}
	where, err := r.openStore(s, set, info.ID)
	if err == nil {
		err = s.openFleet(set)
	}
	if err != nil {
		_ = s.close("")
		return nil, err
	}
	snap, err := r.startMonitor(s, set, c.Startup)
	if err != nil {
		_ = s.close("")
		return nil, err
	}
	if err := r.startListener(s, set.Listen, set.Datadir); err != nil {
		_ = s.close("")
		return nil, err
	}
	if err := r.startAdvice(s, set.Advice); err != nil {
		_ = s.close("")
		return nil, err
	}
	r.log.Infof("monitoring node %s (%s): %d open channels, %d peers "+
		"online, history %s, reconcile every %s", info.ID,
		info.Version, len(snap.Channels), len(snap.OnlinePeers),
		where, duration.Format(set.Reconcile))
	return s, nil
}

// openStore opens the store the options name into s and says where the
// history is kept. The postgres store keeps it under node, getinfo's id.
func (r *runner) openStore(s *instance, set settings,
	node string) (string, error) {

	dir := set.Datadir
	var err error
	if set.Store == storeBadger {
		if dir, err = filepath.Abs(dir); err != nil {
			return "", fmt.Errorf("option %s: %q: %w", optDatadir,
				set.Datadir, err)
		}
	}
	opts := storage.Options{Logger: storeLogger{r.log}}
	if set.Store == storePostgres {
		opts.DSN = set.PostgresDSN
		if opts.Node, err = core.ParsePeerID(node); err != nil {
			return "", fmt.Errorf("getinfo id: %w", err)
		}
	}
	s.store, err = r.cfg.OpenStore(set.Store, dir, opts)
	if err != nil {
		if set.Store == storeBadger {
			return "", fmt.Errorf("option %s: %q: open %s "+
				"store: %w", optDatadir, set.Datadir,
				set.Store, err)
		}
		return "", fmt.Errorf("open %s store: %w", set.Store, err)
	}
	switch set.Store {
	case storeBadger:
		return "in " + dir, nil
	case storePostgres:
		return fmt.Sprintf("in the %v", s.store), nil
	}
	return "in memory", nil
}

// startMonitor builds the event source and the monitor into s, starts
// the monitor, which runs the source, and waits for the source's first
// sync. It returns the node's snapshot that sync used.
func (r *runner) startMonitor(s *instance, set settings,
	startup bool) (core.Snapshot, error) {

	var tk ticker.Ticker
	if set.Reconcile > 0 {
		tk = r.cfg.NewTicker(set.Reconcile)
	}
	s.src = newSource(sourceConfig{
		log:      r.log,
		rpc:      s.rpc,
		clock:    r.cfg.Clock,
		rpcCtx:   r.rpcCtx,
		startup:  startup,
		graceLen: set.Grace,
		ticker:   tk,
		backlog:  &r.backlog,
	})
	var err error
	s.mon, err = r.cfg.NewMonitor(core.Config{
		Store:           s.store,
		Clock:           r.cfg.Clock,
		Source:          s.src,
		Logger:          r.log,
		ClosedRetention: set.Retention,
		SyncInterval:    set.Sync,
		Verdict:         set.Advice.Verdict,
	})
	if err != nil {
		return core.Snapshot{}, err
	}
	if err := s.mon.Start(r.runCtx); err != nil {
		return core.Snapshot{}, fmt.Errorf("start monitor: %w", err)
	}
	s.started = true
	return s.src.waitReady()
}
