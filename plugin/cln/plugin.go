package cln

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/internal/duration"
	"github.com/chanfitness/chanfitness/storage"
	"github.com/elementsproject/glightning/glightning"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
)

var (
	// errMalformed is wrapped by every error about a notification that
	// cannot be understood.
	errMalformed = errors.New("malformed notification")

	// errNotRunning is returned by a chanfitness call before init
	// succeeded or after the plugin stopped.
	errNotRunning = errors.New("chanfitness is not running")
)

const (
	// queueLen is how many messages the reader may be ahead of the
	// dispatcher before it waits (lightningd buffers the rest).
	queueLen = 4096

	// bootstrapTimeout bounds init's RPC calls; lightningd waits 60 s
	// for the init reply.
	bootstrapTimeout = 50 * time.Second

	// reasonEOF is why a run ends when its input does.
	reasonEOF = "lightningd closed the connection"

	// rpcFileDefault is lightningd's RPC socket name.
	rpcFileDefault = "lightning-rpc"
)

// Monitor is the part of *core.Monitor the plugin drives.
type Monitor interface {
	Start(ctx context.Context) error
	Stop() error
	Apply(ctx context.Context, ev core.Event) error
	Sync(ctx context.Context, snap core.Snapshot) error
	NodeLost(ctx context.Context, at time.Time) error
	Report(ctx context.Context, q core.ReportQuery) (core.Report, error)
	OpenChannels(ctx context.Context,
		peer *core.PeerID) ([]core.ChannelPoint, error)
}

// Config carries what Run needs. Zero fields take the production
// defaults.
type Config struct {
	// In is the stream from lightningd (the process's stdin).
	In io.Reader

	// Out is the stream to lightningd (the process's stdout). Run is
	// its only writer.
	Out io.Writer

	// Clock stamps notifications on arrival and drives the monitor.
	Clock clock.Clock

	// NewTicker returns the reconcile ticker (tests use ticker.Force).
	NewTicker func(interval time.Duration) ticker.Ticker

	// OpenStore opens the store of the given kind ("badger" or
	// "memory") in dir.
	OpenStore func(kind, dir string, log core.Logger) (core.Store, error)

	// NewMonitor builds the monitor (core.NewMonitor by default).
	NewMonitor func(cfg core.Config) (Monitor, error)

	// OnListen, when set, is given the address of the HTTP listener
	// once it listens (see chanfitness-listen).
	OnListen func(addr string)
}

func (c *Config) setDefaults() {
	if c.Clock == nil {
		c.Clock = clock.NewDefaultClock()
	}
	if c.NewTicker == nil {
		c.NewTicker = func(d time.Duration) ticker.Ticker {
			return ticker.New(d)
		}
	}
	if c.OpenStore == nil {
		c.OpenStore = OpenStore
	}
	if c.NewMonitor == nil {
		c.NewMonitor = func(cfg core.Config) (Monitor, error) {
			return core.NewMonitor(cfg)
		}
	}
}

// OpenStore opens a store of the given kind: "memory", or "badger" in
// dir.
func OpenStore(kind, dir string, log core.Logger) (core.Store, error) {
	return storage.Open(kind, dir, storage.Options{Logger: log})
}

// Run serves lightningd on cfg.In and cfg.Out until lightningd sends
// shutdown, closes the stream, or ctx ends. The history is flushed and the
// store closed before it returns.
func Run(ctx context.Context, cfg Config) error {
	return run(ctx, cfg, newProtoWriter(cfg.Out))
}

// runner is one run of the plugin.
type runner struct {
	cfg Config
	out *protoWriter
	log pluginLogger

	// runCtx lives as long as the run; rpcCtx ends when lightningd
	// announces its shutdown, since its RPC may then go at any moment.
	runCtx    context.Context
	rpcCtx    context.Context
	cancelRPC context.CancelFunc

	// readyc hands a bootstrapped instance from init to the dispatcher;
	// stopped is closed when the dispatcher stops taking it.
	readyc  chan *instance
	stopped chan struct{}

	mu       sync.Mutex
	inst     *instance
	disable  string
	stopping bool
	initWG   sync.WaitGroup
}

func run(ctx context.Context, cfg Config, out *protoWriter) error {
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rpcCtx, cancelRPC := context.WithCancel(ctx)
	defer cancelRPC()

	r := &runner{
		cfg:       cfg,
		out:       out,
		log:       pluginLogger{out: out},
		runCtx:    ctx,
		rpcCtx:    rpcCtx,
		cancelRPC: cancelRPC,
		readyc:    make(chan *instance),
		stopped:   make(chan struct{}),
	}

	p := glightning.NewPlugin(r.onInit)
	if err := registerOptions(p); err != nil {
		return err
	}
	if err := p.RegisterMethod(newReportMethod(r)); err != nil {
		return fmt.Errorf("register method %s: %w", methodName, err)
	}
	if err := p.RegisterMethod(newAdviceMethod(r)); err != nil {
		return fmt.Errorf("register method %s: %w", adviceMethodName,
			err)
	}
	p.SetDynamic(true)
	br, err := startBridge(p, out, r.log, r.disableReason)
	if err != nil {
		return err
	}

	queue := make(chan inbound, queueLen)
	readDone := make(chan struct{})
	var readErr error
	go func() {
		defer close(queue)
		readErr = readMessages(cfg.In, cfg.Clock.Now, func(m inbound) {
			if !m.env.isRequest() && m.env.Method == topicShutdown {
				r.cancelRPC()
			}
			select {
			case queue <- m:
			case <-readDone:
			}
		}, r.badMessage)
		if readErr != nil {
			r.log.Errorf("%v", readErr)
		}
	}()

	reason := r.dispatch(ctx, queue, br)
	close(readDone)

	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	close(r.stopped)
	r.cancelRPC()
	r.initWG.Wait()

	err = r.stop(reason)
	br.close()
	if reason == reasonEOF && readErr != nil {
		// The queue is closed, so the reader has returned.
		return readErr
	}
	return err
}

// badMessage logs a message that cannot be used and answers it when it
// is a request: every request gets a reply, or lightning-cli would wait
// for ever.
func (r *runner) badMessage(m badMessage) {
	if m.ID == nil {
		r.log.Warnf("%v", m.Err)
		return
	}
	r.log.Warnf("request %s %q: %v", m.ID, m.Method, m.Err)
	_ = r.out.fail(m.ID, codeInvalidRequest, m.Err.Error())
}

// dispatch handles lightningd's messages in arrival order, and the
// reconcile ticks, until the run ends. It returns why it ended.
func (r *runner) dispatch(ctx context.Context, queue <-chan inbound,
	br *bridge) string {

	var ticks, graceEnd <-chan time.Time
	var inst *instance

	// A reconcile tick waits for the messages stamped before it: a
	// snapshot taken ahead of them would record the peer states they
	// bring without their flaps. Later messages wait for the reconcile.
	var tickAt time.Time
	tick := false
	for {
		if tick && len(queue) == 0 {
			tick = false
			inst.reconcile(ctx, r.rpcCtx)
		}
		if inst != nil && inst.grace == nil {
			graceEnd = nil
		}
		select {
		case m, ok := <-queue:
			if !ok {
				return reasonEOF
			}
			if !tick {
				select {
				case tickAt = <-ticks:
					tick = true
				default:
				}
			}
			if tick && !m.at.Before(tickAt) {
				tick = false
				inst.reconcile(ctx, r.rpcCtx)
			}
			if m.env.isRequest() {
				r.request(br, m.env)
				continue
			}
			if m.env.Method == topicShutdown {
				return "lightningd shuts down"
			}
			if !isTopic(m.env.Method) {
				r.log.Debugf("%s notification: not subscribed, "+
					"ignored", m.env.Method)
				continue
			}
			if inst == nil {
				r.log.Debugf("%s notification before init: "+
					"ignored", m.env.Method)
				continue
			}
			inst.notification(ctx, r.rpcCtx, m)

		case s := <-r.readyc:
			inst = s
			if inst.ticker != nil {
				inst.ticker.Resume()
				ticks = inst.ticker.Ticks()
			}
			if inst.grace != nil {
				graceEnd = r.cfg.Clock.TickAfter(inst.graceLen)
			}

		case <-graceEnd:
			graceEnd = nil
			inst.endGrace(ctx, r.rpcCtx, fmt.Sprintf("%v passed",
				inst.graceLen))

		case tickAt = <-ticks:
			tick = true

		case <-ctx.Done():
			return "interrupted"
		}
	}
}

// request passes a request on to glightning; chanfitness calls are
// checked here first, and reach glightning only in a canonical form that
// none of its parameter-parsing defects can trip on.
func (r *runner) request(br *bridge, env envelope) {
	params := env.Params
	if env.Method == methodName {
		args, err := parseReportArgs(env.Params)
		if err != nil {
			_ = r.out.fail(env.ID, codeInvalidParams, err.Error())
			return
		}
		peer := ""
		if args.Peer != nil {
			peer = args.Peer.String()
		}
		params, _ = json.Marshal([]string{peer, args.Window})
	}
	if env.Method == adviceMethodName {
		var err error
		if params, err = parseAdviceParams(env.Params); err != nil {
			_ = r.out.fail(env.ID, codeInvalidParams, err.Error())
			return
		}
	}
	if err := br.forward(env.ID, env.Method, params); err != nil {
		r.log.Errorf("%v", err)
		_ = r.out.fail(env.ID, codeInternal, err.Error())
	}
}

func (r *runner) disableReason() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.disable
}

func (r *runner) instance() *instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inst
}

// onInit is glightning's init callback: it checks the options, opens the
// store, starts the monitor and bootstraps it from the node, then hands
// the instance to the dispatcher. On failure it records the reason, which
// the bridge sends to lightningd as {"disable": reason}.
func (r *runner) onInit(p *glightning.Plugin, _ map[string]glightning.Option,
	c *glightning.Config) {

	r.mu.Lock()
	if r.stopping {
		r.disable = "stopping"
		r.mu.Unlock()
		return
	}
	r.initWG.Add(1)
	r.mu.Unlock()
	defer r.initWG.Done()

	inst, err := r.bootstrap(p, c)
	if err != nil {
		r.mu.Lock()
		r.disable = err.Error()
		r.mu.Unlock()
		return
	}
	select {
	case r.readyc <- inst:
		r.mu.Lock()
		r.inst = inst
		r.mu.Unlock()
	case <-r.stopped:
		_ = inst.close("stopped during init")
	}
}

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
	s.rpc = newRPCClient(rpcPath)
	info, err := s.rpc.GetInfo(ctx)
	if err != nil {
		_ = s.close("")
		return nil, fmt.Errorf("lightningd RPC at %s: %w", rpcPath, err)
	}

	dir := set.Datadir
	if set.Store == storeBadger {
		if dir, err = filepath.Abs(dir); err != nil {
			_ = s.close("")
			return nil, fmt.Errorf("option %s: %q: %w", optDatadir,
				set.Datadir, err)
		}
	}
	s.store, err = r.cfg.OpenStore(set.Store, dir, storeLogger{r.log})
	if err != nil {
		_ = s.close("")
		if set.Store == storeBadger {
			return nil, fmt.Errorf("option %s: %q: open %s "+
				"store: %w", optDatadir, set.Datadir,
				set.Store, err)
		}
		return nil, fmt.Errorf("open %s store: %w", set.Store, err)
	}
	s.mon, err = r.cfg.NewMonitor(core.Config{
		Store:           s.store,
		Clock:           r.cfg.Clock,
		Logger:          r.log,
		ClosedRetention: set.Retention,
		SyncInterval:    set.Sync,
		Verdict:         set.Advice.Verdict,
	})
	if err != nil {
		_ = s.close("")
		return nil, err
	}
	if err := s.mon.Start(r.runCtx); err != nil {
		_ = s.close("")
		return nil, fmt.Errorf("start monitor: %w", err)
	}
	s.started = true
	s.tracker = newTracker(s.rpc, r.log, r.cfg.Clock.Now, s.openPoints)
	snap, err := s.tracker.snapshot(ctx)
	if err != nil {
		_ = s.close("")
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if c.Startup && set.Grace > 0 {
		s.graceLen = set.Grace
		s.startGrace(snap)
	}
	if s.grace != nil {
		// Unmonitored from now until the grace ends with a sync.
		if err := s.mon.NodeLost(r.runCtx, snap.Time); err != nil {
			_ = s.close("")
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
	}
	if s.grace == nil {
		err := s.mon.Sync(r.runCtx, snap)
		if err != nil && !s.noteUnwritten(err) {
			_ = s.close("")
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
	}
	if err := r.startListener(s, set.Listen, set.Datadir); err != nil {
		_ = s.close("")
		return nil, err
	}
	if set.Reconcile > 0 {
		s.ticker = r.cfg.NewTicker(set.Reconcile)
	}

	where := "in memory"
	if set.Store == storeBadger {
		where = "in " + dir
	}
	r.log.Infof("monitoring node %s (%s): %d open channels, %d peers "+
		"online, history %s, reconcile every %s", info.ID,
		info.Version, len(snap.Channels), len(snap.OnlinePeers),
		where, duration.Format(set.Reconcile))
	return s, nil
}

// stop ends the instance, if any.
func (r *runner) stop(reason string) error {
	r.mu.Lock()
	s := r.inst
	r.inst = nil
	r.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.close(reason)
}
