package cln

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/httpapi"
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

	// errRPCTimeout is wrapped by the error of an RPC call that
	// lightningd did not answer in time (see rpcTimeout).
	errRPCTimeout = errors.New("no answer from lightningd")
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

// Monitor is the part of *core.Monitor the plugin uses; the monitor runs
// the plugin's event source, which feeds it.
type Monitor interface {
	Start(ctx context.Context) error
	Stop() error
	Report(ctx context.Context, q core.ReportQuery) (core.Report, error)
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

	// OpenStore opens the store of the given kind ("badger",
	// "postgres" or "memory"), in dir for badger; opts carries the
	// logger and, for postgres, the database and the node's id.
	OpenStore func(kind, dir string, opts storage.Options) (core.Store,
		error)

	// NewMonitor builds the monitor (core.NewMonitor by default).
	NewMonitor func(cfg core.Config) (Monitor, error)

	// OnListen, when set, is given the address of the HTTP listener
	// once it listens (see chanfitness-listen).
	OnListen func(addr string)

	// ListenLimits bounds the HTTP listener's connections and requests
	// (zero: the server's defaults, as the lnd companion's).
	ListenLimits httpapi.Limits
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

// OpenStore opens a store of the given kind: "memory", "badger" in dir,
// or "postgres" (opts.DSN, opts.Node).
func OpenStore(kind, dir string, opts storage.Options) (core.Store,
	error) {

	return storage.Open(kind, dir, opts)
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

	// backlog counts the messages read and not yet handed on by the
	// dispatcher.
	backlog atomic.Int64

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
	if err := p.RegisterMethod(newFleetMethod(r)); err != nil {
		return fmt.Errorf("register method %s: %w", fleetMethodName,
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
			r.backlog.Add(1)
			select {
			case queue <- m:
			case <-readDone:
				r.backlog.Add(-1)
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

// dispatch handles lightningd's messages in arrival order until the run
// ends, and returns why it ended. Once init is done, notifications go to
// the event source, and a request or the shutdown waits until the source
// has applied everything before it.
func (r *runner) dispatch(ctx context.Context, queue <-chan inbound,
	br *bridge) string {

	var src *source
	for {
		select {
		case m, ok := <-queue:
			if !ok {
				return reasonEOF
			}
			reason, end := r.take(src, br, m)
			if end {
				return reason
			}

		case inst := <-r.readyc:
			src = inst.src

		case <-ctx.Done():
			return "interrupted"
		}
	}
}

// take handles one message; end is set, with the reason, when the run
// ends with it. Whoever takes the message counts it off the backlog: the
// source, or take when the source does not.
func (r *runner) take(src *source, br *bridge, m inbound) (reason string,
	end bool) {

	req := m.env.isRequest()
	taken := false
	switch {
	case src != nil && (req || m.env.Method == topicShutdown):
		taken = src.barrier(m)
	case src != nil:
		taken = src.hand(m)
	case !req && m.env.Method != topicShutdown:
		r.log.Debugf("%s notification before init: ignored",
			m.env.Method)
	}
	if !taken {
		r.backlog.Add(-1)
	}
	switch {
	case req:
		r.request(br, m.env)
	case m.env.Method == topicShutdown:
		return "lightningd shuts down", true
	}
	return "", false
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
	if env.Method == fleetMethodName {
		var err error
		if params, err = parseFleetParams(env.Params); err != nil {
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
