package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
)

// Defaults for Config fields left zero.
const (
	DefaultSyncInterval    = time.Second
	DefaultMaintenance     = time.Hour
	DefaultClosedRetention = 90 * 24 * time.Hour
	DefaultRecentEvents    = 10
)

// Logger receives the monitor's log lines. It must never write to stdout
// when the monitor runs inside a CLN plugin.
type Logger interface {
	Debugf(format string, args ...any)
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Config carries what a Monitor needs.
type Config struct {
	// Store persists history (required).
	Store Store

	// Clock gives the time; nil means the system clock.
	Clock clock.Clock

	// Source, when set, is run by Start and feeds the monitor. Without a
	// source the caller feeds Apply, Sync and NodeLost itself and the
	// node counts as connected from Start.
	Source EventSource

	// SyncInterval is how often the heartbeat is written and the store
	// synced to stable storage (default 1 s): the most an operating
	// system crash may lose.
	SyncInterval time.Duration

	// SyncTicker overrides the ticker built from SyncInterval (tests use
	// ticker.NewForce).
	SyncTicker ticker.Ticker

	// MaintenanceTicker drives retention pruning (default hourly).
	MaintenanceTicker ticker.Ticker

	// ClosedRetention is how long closed channels stay visible (default
	// 90 days; negative keeps them forever).
	ClosedRetention time.Duration

	// RecentEvents is how many committed transitions a peer report lists
	// (default 10).
	RecentEvents int

	// Logger receives log lines; nil discards them.
	Logger Logger
}

// ChannelInfo is what the monitor knows of one channel.
type ChannelInfo struct {
	Point          ChannelPoint
	Peer           PeerID
	ShortChannelID string
	Open           bool
	OpenedAt       time.Time

	// ClosedAt is zero while the channel is open.
	ClosedAt time.Time

	// Age is wall time since OpenedAt (until ClosedAt when closed).
	Age time.Duration

	// Lifetime is monitored time since OpenedAt; it equals lnd's lifetime
	// when the monitor never had a gap.
	Lifetime time.Duration

	// Uptime is the time the peer was online within Lifetime.
	Uptime time.Duration
}

// PeerWindowInfo is a peer's figures over [Start, End].
type PeerWindowInfo struct {
	Start, End    time.Time
	Monitored     time.Duration
	Uptime        time.Duration
	LongestOutage time.Duration
}

// ev64 is a log event in the monitor's internal time form.
type ev64 struct {
	t int64
	s State
}

// peerVals are a peer's scalar fields, copied before a change so that a
// failed store write can be rolled back.
type peerVals struct {
	tracked      bool
	trackedSince int64
	online       bool
	stateKnown   bool
	stateSince   int64
	flapCount    int
	lastFlap     int64
	hasLastFlap  bool
	staged       ev64
	hasStaged    bool
	lastEvent    int64
	liveStart    int
	openChans    int
}

type peerState struct {
	id PeerID
	peerVals

	// tl is the committed log (nil until the peer is tracked); pending
	// holds events committed by the change under way, appended to tl
	// once the store has them.
	tl      *timeline
	pending []ev64
}

func (p *peerState) committedLen() int {
	n := len(p.pending)
	if p.tl != nil {
		n += p.tl.len()
	}
	return n
}

// loggedState returns the state of the newest committed or pending event
// (StateUnknown when the log is empty).
func (p *peerState) loggedState() State {
	if n := len(p.pending); n > 0 {
		return p.pending[n-1].s
	}
	if p.tl == nil {
		return StateUnknown
	}
	_, s, _ := p.tl.last()
	return s
}

func (p *peerState) state() State {
	if p.online {
		return StateOnline
	}
	return StateOffline
}

// setState records the connection state, keeping the earliest time of a
// run of repeats.
func (p *peerState) setState(online bool, t int64) {
	if !p.stateKnown || p.online != online {
		p.stateSince = t
	}
	p.online = online
	p.stateKnown = true
}

func (p *peerState) stagedRecord() *LogEvent {
	if !p.hasStaged {
		return nil
	}
	return &LogEvent{Time: nsTime(p.staged.t), State: p.staged.s}
}

func (p *peerState) record() PeerRecord {
	r := PeerRecord{
		Peer:         p.id,
		TrackedSince: nsTime(p.trackedSince),
		Online:       p.online,
		StateSince:   nsTime(p.stateSince),
		FlapCount:    p.flapCount,
		Staged:       p.stagedRecord(),
		LastEvent:    nsTime(p.lastEvent),
	}
	if p.hasLastFlap {
		r.LastFlap = nsTime(p.lastFlap)
	}
	return r
}

type channelState struct {
	rec      ChannelRecord
	openedAt int64
	closedAt int64 // 0 while open
}

func (c *channelState) open() bool {
	return c.closedAt == 0
}

// Monitor computes channel fitness from node events. Its methods are safe
// for concurrent use; events are applied one at a time, in call order.
type Monitor struct {
	cfg   Config
	clock clock.Clock
	log   Logger

	mu       sync.RWMutex
	started  bool
	stopped  bool
	peers    map[PeerID]*peerState
	channels map[ChannelPoint]*channelState

	monitoringSince int64
	heartbeat       int64
	// lastTime is the newest time the monitor is known to have been
	// running and connected: the heartbeat, or an event applied after
	// it. Unmonitored time starts no earlier; after a restart it starts
	// there (as loaded: the heartbeat or a logged event after it).
	lastTime int64

	// Closed unmonitored gaps, sorted, with gapCum[i] the total length
	// of gaps before i.
	gapStart, gapEnd, gapCum []int64

	gapOpen        bool
	openGapStart   int64
	connectedSince int64

	batch  Batch
	logBuf []LogEvent

	syncTicker  ticker.Ticker
	maintTicker ticker.Ticker
	cancel      context.CancelFunc
	quit        chan struct{}
	wg          sync.WaitGroup
}

// NewMonitor checks cfg and returns a monitor; it starts nothing.
func NewMonitor(cfg Config) (*Monitor, error) {
	if cfg.Store == nil {
		return nil, errors.New("monitor config: Store is required")
	}
	if cfg.SyncInterval < 0 {
		return nil, fmt.Errorf("monitor config: SyncInterval %v is "+
			"negative", cfg.SyncInterval)
	}
	if cfg.RecentEvents < 0 {
		return nil, fmt.Errorf("monitor config: RecentEvents %d is "+
			"negative", cfg.RecentEvents)
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	if cfg.ClosedRetention == 0 {
		cfg.ClosedRetention = DefaultClosedRetention
	}
	if cfg.RecentEvents == 0 {
		cfg.RecentEvents = DefaultRecentEvents
	}
	m := &Monitor{
		cfg:         cfg,
		clock:       cfg.Clock,
		log:         cfg.Logger,
		peers:       make(map[PeerID]*peerState),
		channels:    make(map[ChannelPoint]*channelState),
		gapCum:      []int64{0},
		syncTicker:  cfg.SyncTicker,
		maintTicker: cfg.MaintenanceTicker,
		quit:        make(chan struct{}),
	}
	if m.clock == nil {
		m.clock = clock.NewDefaultClock()
	}
	if m.log == nil {
		m.log = nopLogger{}
	}
	if m.syncTicker == nil {
		m.syncTicker = ticker.New(cfg.SyncInterval)
	}
	if m.maintTicker == nil {
		m.maintTicker = ticker.New(DefaultMaintenance)
	}
	return m, nil
}

type nopLogger struct{}

func (nopLogger) Debugf(string, ...any) {}
func (nopLogger) Infof(string, ...any)  {}
func (nopLogger) Warnf(string, ...any)  {}
func (nopLogger) Errorf(string, ...any) {}

func nsTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func timeNs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func (m *Monitor) now() int64 {
	return m.clock.Now().UnixNano()
}

// Start loads the stored history, records the time since the last
// heartbeat as unmonitored, and starts the source (if any) and timers.
func (m *Monitor) Start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return ErrStopped
	}
	if m.started {
		return errors.New("monitor already started")
	}
	st, err := m.cfg.Store.Load(ctx)
	if err != nil {
		return fmt.Errorf("load store: %w", err)
	}
	if err := m.load(st); err != nil {
		return err
	}
	now := m.now()
	if m.monitoringSince == 0 {
		m.monitoringSince = now
		m.heartbeat = now
		if err := m.writeMeta(ctx); err != nil {
			return err
		}
		if m.cfg.Source != nil {
			m.gapOpen, m.openGapStart = true, now
		} else {
			m.connectedSince = now
		}
	} else {
		start := max(m.heartbeat, m.lastTime)
		if start > now {
			start = now
		}
		if err := m.openGap(ctx, start); err != nil {
			return err
		}
		if m.cfg.Source == nil {
			if err := m.closeGap(ctx, now, nil); err != nil {
				return err
			}
		}
	}
	m.pruneClosed(ctx, now)

	runCtx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.started = true
	m.syncTicker.Resume()
	m.maintTicker.Resume()
	m.wg.Add(1)
	go m.timers()
	if m.cfg.Source != nil {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			err := m.cfg.Source.Run(runCtx, m)
			if err != nil && !errors.Is(err, context.Canceled) {
				m.log.Errorf("event source stopped: %v", err)
			}
		}()
	}
	m.log.Infof("monitor started: %d peers, %d channels, monitoring "+
		"since %v", len(m.peers), len(m.channels),
		nsTime(m.monitoringSince))
	return nil
}

// load rebuilds the in-memory state from what the store returned.
func (m *Monitor) load(st *StoredState) error {
	m.monitoringSince = timeNs(st.Meta.MonitoringSince)
	m.heartbeat = timeNs(st.Meta.Heartbeat)
	m.lastTime = m.heartbeat
	for _, g := range st.Gaps {
		s, e := timeNs(g.Start), timeNs(g.End)
		if e < s || (len(m.gapEnd) > 0 && s < m.gapEnd[len(m.gapEnd)-1]) {
			return fmt.Errorf("load store: gap %v..%v out of order",
				g.Start, g.End)
		}
		m.appendGap(s, e)
	}
	for _, r := range st.Peers {
		p := &peerState{id: r.Peer, tl: newTimeline()}
		p.tracked = true
		p.trackedSince = timeNs(r.TrackedSince)
		p.online = r.Online
		p.stateKnown = true
		p.stateSince = timeNs(r.StateSince)
		p.flapCount = r.FlapCount
		if !r.LastFlap.IsZero() {
			p.lastFlap, p.hasLastFlap = r.LastFlap.UnixNano(), true
		}
		if r.Staged != nil {
			p.staged = ev64{timeNs(r.Staged.Time), r.Staged.State}
			p.hasStaged = true
		}
		p.lastEvent = timeNs(r.LastEvent)
		if p.hasStaged {
			m.lastTime = max(m.lastTime, p.staged.t)
		}
		m.peers[r.Peer] = p
	}
	for _, l := range st.Logs {
		p, ok := m.peers[l.Peer]
		if !ok {
			return fmt.Errorf("load store: log of peer %v without a "+
				"peer record", l.Peer)
		}
		if uint64(p.tl.len()) != l.Seq {
			return fmt.Errorf("load store: log of peer %v starts at "+
				"%d, want %d", l.Peer, l.Seq, p.tl.len())
		}
		p.tl.reserve(len(l.Events))
		for _, e := range l.Events {
			t := timeNs(e.Time)
			if last, _, ok := p.tl.last(); ok && t < last {
				return fmt.Errorf("load store: log of peer %v "+
					"goes back in time at %v", l.Peer, e.Time)
			}
			p.tl.append(t, e.State)
		}
		if last, _, ok := p.tl.last(); ok {
			m.lastTime = max(m.lastTime, last)
		}
	}
	for _, r := range st.Channels {
		p, ok := m.peers[r.Peer]
		if !ok {
			return fmt.Errorf("load store: channel %v of untracked "+
				"peer %v", r.Point, r.Peer)
		}
		c := &channelState{
			rec:      r,
			openedAt: timeNs(r.OpenedAt),
			closedAt: timeNs(r.ClosedAt),
		}
		if c.open() {
			p.openChans++
		}
		m.channels[r.Point] = c
	}
	for _, p := range m.peers {
		if p.openChans == 0 {
			p.liveStart = p.tl.len()
		}
	}
	return nil
}

func (m *Monitor) appendGap(s, e int64) {
	m.gapStart = append(m.gapStart, s)
	m.gapEnd = append(m.gapEnd, e)
	m.gapCum = append(m.gapCum, m.gapCum[len(m.gapCum)-1]+e-s)
}

func (m *Monitor) writeMeta(ctx context.Context) error {
	b := m.newBatch()
	b.Meta = &Meta{
		MonitoringSince: nsTime(m.monitoringSince),
		Heartbeat:       nsTime(m.heartbeat),
	}
	if err := m.cfg.Store.Write(ctx, b); err != nil {
		return fmt.Errorf("write heartbeat: %w", err)
	}
	return nil
}

// newBatch returns the monitor's reusable batch, emptied.
func (m *Monitor) newBatch() *Batch {
	m.batch.Reset()
	m.logBuf = m.logBuf[:0]
	return &m.batch
}

// addPeerToBatch adds p's record and pending log events to b.
func (m *Monitor) addPeerToBatch(b *Batch, p *peerState) {
	b.Peers = append(b.Peers, p.record())
	if len(p.pending) == 0 {
		return
	}
	start := len(m.logBuf)
	for _, e := range p.pending {
		m.logBuf = append(m.logBuf, LogEvent{
			Time: nsTime(e.t), State: e.s,
		})
	}
	b.Logs = append(b.Logs, PeerLog{
		Peer:   p.id,
		Seq:    uint64(p.tl.len()),
		Events: m.logBuf[start:len(m.logBuf):len(m.logBuf)],
	})
}

// flushPending moves p's pending events into its timeline.
func (p *peerState) flushPending() {
	for _, e := range p.pending {
		p.tl.append(e.t, e.s)
	}
	p.pending = p.pending[:0]
}

// openGap starts unmonitored time at t, or at the newest event applied if
// that is later (the node was evidently there to report it): every live
// peer log gets its staged event committed and a StateUnknown marker.
func (m *Monitor) openGap(ctx context.Context, t int64) error {
	if m.gapOpen {
		return nil
	}
	t = max(t, m.lastTime)
	b := m.newBatch()
	var touched []*peerState
	saved := make(map[*peerState]peerVals)
	for _, p := range m.peers {
		if !p.tracked || p.openChans == 0 {
			continue
		}
		saved[p] = p.peerVals
		if p.hasStaged {
			p.pending = append(p.pending, p.staged)
			p.hasStaged = false
		}
		if p.loggedState() != StateUnknown {
			p.pending = append(p.pending, ev64{t, StateUnknown})
		}
		p.lastEvent = max(p.lastEvent, t)
		m.addPeerToBatch(b, p)
		touched = append(touched, p)
	}
	if err := m.writePeers(ctx, b, t, touched, saved); err != nil {
		return fmt.Errorf("record unmonitored time from %v: %w",
			nsTime(t), err)
	}
	m.gapOpen, m.openGapStart = true, t
	m.lastTime = t
	m.log.Infof("node lost at %v: time until it is back is unmonitored",
		nsTime(t))
	return nil
}

// closeGap ends unmonitored time at t. online gives each peer's state at
// t (nil: keep the last known states). Live peers get their state
// committed at t without counting a flap.
func (m *Monitor) closeGap(ctx context.Context, t int64,
	online map[PeerID]bool) error {

	if !m.gapOpen {
		return nil
	}
	start := m.openGapStart
	if t < start {
		t = start
	}
	b := m.newBatch()
	var touched []*peerState
	saved := make(map[*peerState]peerVals)
	newest := t
	for _, p := range m.peers {
		if !p.tracked {
			if online != nil {
				p.setState(online[p.id], t)
			}
			continue
		}
		saved[p] = p.peerVals
		if online != nil {
			p.setState(online[p.id], t)
		}
		// An event applied during the gap may be stamped later
		// than t; the log must not go back in time.
		p.lastEvent = max(p.lastEvent, t)
		if p.openChans > 0 {
			p.pending = append(p.pending,
				ev64{p.lastEvent, p.state()})
			newest = max(newest, p.lastEvent)
		}
		m.addPeerToBatch(b, p)
		touched = append(touched, p)
	}
	if t > start {
		b.Gaps = append(b.Gaps, Gap{Start: nsTime(start), End: nsTime(t)})
	}
	if err := m.writePeers(ctx, b, t, touched, saved); err != nil {
		return fmt.Errorf("record end of unmonitored time at %v: %w",
			nsTime(t), err)
	}
	if t > start {
		m.appendGap(start, t)
	}
	m.gapOpen = false
	m.connectedSince = t
	m.lastTime = max(m.lastTime, newest)
	m.log.Infof("node connected at %v after %v unmonitored", nsTime(t),
		time.Duration(t-start))
	return nil
}

// writePeers writes b, which holds the touched peers, with a heartbeat at
// t. On success the peers' pending events join their logs; on failure the
// peers get their saved values back.
func (m *Monitor) writePeers(ctx context.Context, b *Batch, t int64,
	touched []*peerState, saved map[*peerState]peerVals) error {

	prev := m.heartbeat
	m.heartbeat = max(m.heartbeat, t)
	b.Meta = &Meta{
		MonitoringSince: nsTime(m.monitoringSince),
		Heartbeat:       nsTime(m.heartbeat),
	}
	if err := m.cfg.Store.Write(ctx, b); err != nil {
		m.heartbeat = prev
		for _, p := range touched {
			p.peerVals = saved[p]
			p.pending = p.pending[:0]
		}
		return err
	}
	for _, p := range touched {
		p.flushPending()
	}
	return nil
}

func (m *Monitor) timers() {
	defer m.wg.Done()
	// Writes here must not fail because Stop cancelled the source.
	ctx := context.Background()
	for {
		select {
		case <-m.syncTicker.Ticks():
			m.tick(ctx)
		case <-m.maintTicker.Ticks():
			m.mu.Lock()
			m.pruneClosed(ctx, m.now())
			m.mu.Unlock()
		case <-m.quit:
			return
		}
	}
}

// tick writes the heartbeat and syncs the store.
func (m *Monitor) tick(ctx context.Context) {
	m.mu.Lock()
	if !m.gapOpen {
		m.heartbeat = max(m.heartbeat, m.now())
		if err := m.writeMeta(ctx); err != nil {
			m.log.Errorf("%v", err)
		}
	}
	m.mu.Unlock()
	if err := m.cfg.Store.Sync(); err != nil {
		m.log.Errorf("sync store: %v", err)
	}
}

// pruneClosed forgets closed channels older than the retention period.
func (m *Monitor) pruneClosed(ctx context.Context, now int64) {
	if m.cfg.ClosedRetention < 0 {
		return
	}
	cutoff := now - int64(m.cfg.ClosedRetention)
	b := m.newBatch()
	for cp, c := range m.channels {
		if !c.open() && c.closedAt < cutoff {
			b.DeleteChannels = append(b.DeleteChannels, cp)
		}
	}
	if len(b.DeleteChannels) == 0 {
		return
	}
	if err := m.cfg.Store.Write(ctx, b); err != nil {
		m.log.Errorf("prune closed channels: %v", err)
		return
	}
	for _, cp := range b.DeleteChannels {
		delete(m.channels, cp)
	}
	m.log.Debugf("pruned %d closed channels", len(b.DeleteChannels))
}

// Stop stops the source and timers, writes a last heartbeat and syncs the
// store. It does not close the store. It is safe to call more than once.
func (m *Monitor) Stop() error {
	m.mu.Lock()
	if m.stopped || !m.started {
		m.stopped = true
		m.mu.Unlock()
		return nil
	}
	m.stopped = true
	m.cancel()
	close(m.quit)
	m.mu.Unlock()

	m.wg.Wait()
	m.syncTicker.Stop()
	m.maintTicker.Stop()

	m.mu.Lock()
	defer m.mu.Unlock()
	var err error
	if !m.gapOpen {
		m.heartbeat = max(m.heartbeat, m.now())
		err = m.writeMeta(context.Background())
	}
	if serr := m.cfg.Store.Sync(); serr != nil && err == nil {
		err = fmt.Errorf("sync store: %w", serr)
	}
	m.log.Infof("monitor stopped")
	return err
}

// usable checks that the monitor accepts input. Callers hold mu.
func (m *Monitor) usable() error {
	switch {
	case m.stopped:
		return ErrStopped
	case !m.started:
		return ErrNotStarted
	}
	return nil
}

// peer returns the state of id, creating an untracked one.
func (m *Monitor) peer(id PeerID) *peerState {
	p, ok := m.peers[id]
	if !ok {
		p = &peerState{id: id}
		m.peers[id] = p
	}
	return p
}

// eventTime resolves an event's time: zero means now, and a time before
// the peer's last event is clamped to it. No event lands in or before
// unmonitored time either: the floor is the start of the open gap, or the
// end of the last one.
func (m *Monitor) eventTime(p *peerState, t time.Time) int64 {
	var ns int64
	if t.IsZero() {
		ns = m.now()
	} else {
		ns = t.UnixNano()
	}
	return max(ns, p.lastEvent, m.gapEdge())
}

// gapEdge returns the start of the open gap, or the time the node was
// last connected.
func (m *Monitor) gapEdge() int64 {
	if m.gapOpen {
		return m.openGapStart
	}
	return m.connectedSince
}

// Apply applies one event. When it returns nil, the in-memory state and
// the store reflect the event.
func (m *Monitor) Apply(ctx context.Context, ev Event) error {
	if err := ev.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usable(); err != nil {
		return err
	}
	p := m.peer(ev.Peer)
	t := m.eventTime(p, ev.Time)
	switch ev.Type {
	case PeerOnline, PeerOffline:
		return m.peerEvent(ctx, p, ev.Type == PeerOnline, t)
	case ChannelOpened:
		return m.openChannel(ctx, p, ev.Channel, ev.ShortChannelID, t)
	default:
		return m.closeChannel(ctx, p, ev.Channel, t)
	}
}

// peerEvent applies an online or offline notification.
func (m *Monitor) peerEvent(ctx context.Context, p *peerState, online bool,
	t int64) error {

	if !p.tracked {
		p.setState(online, t)
		p.lastEvent = t
		return nil
	}
	saved := p.peerVals
	m.flap(p, online, t)
	p.lastEvent = t
	if err := m.writePeer(ctx, p, saved, nil); err != nil {
		s := StateOffline
		if online {
			s = StateOnline
		}
		return fmt.Errorf("record %v of peer %v: %w", s, p.id, err)
	}
	if m.cfg.Logger != nil {
		// Guarded: formatting costs more than the rest of Apply.
		m.log.Debugf("peer %v %v (flap count %d)", p.id, p.state(),
			p.flapCount)
	}
	return nil
}

// writePeer writes p (and ch, if not nil) and commits p's pending events
// to its timeline, or rolls p back to saved on failure.
func (m *Monitor) writePeer(ctx context.Context, p *peerState,
	saved peerVals, ch *ChannelRecord) error {

	b := m.newBatch()
	m.addPeerToBatch(b, p)
	if ch != nil {
		b.Channels = append(b.Channels, *ch)
	}
	if err := m.cfg.Store.Write(ctx, b); err != nil {
		p.peerVals = saved
		p.pending = p.pending[:0]
		return err
	}
	p.flushPending()
	m.lastTime = max(m.lastTime, p.lastEvent)
	return nil
}

// flap is lnd's onlineEvent: cool the count down, count the flap, and log
// the state if the peer has channels.
func (m *Monitor) flap(p *peerState, online bool, t int64) {
	if p.hasLastFlap {
		p.flapCount = cooled(t, p.flapCount, p.lastFlap)
	}
	p.flapCount++
	p.lastFlap, p.hasLastFlap = t, true
	p.setState(online, t)
	if p.openChans == 0 {
		return
	}
	m.addEvent(p, p.state(), t)
}

// addEvent is lnd's staging rule: the newest event is staged; the staged
// one is committed when the new one comes more than the rate limit after
// it. While the node is lost nothing is logged: that time is unmonitored,
// and the end of the gap records the state the peer is in by then.
func (m *Monitor) addEvent(p *peerState, s State, t int64) {
	if m.gapOpen {
		return
	}
	if !p.hasStaged {
		p.staged, p.hasStaged = ev64{t, s}, true
		return
	}
	if p.staged.t+int64(RateLimit(p.flapCount)) < t {
		p.pending = append(p.pending, p.staged)
	}
	p.staged = ev64{t, s}
}

// track makes p a tracked peer at t: lnd creates its monitor and applies
// one state notification, which counts as a flap.
func (m *Monitor) track(p *peerState, t int64) {
	p.tracked = true
	p.trackedSince = t
	if p.tl == nil {
		p.tl = newTimeline()
	}
	p.liveStart = p.tl.len()
	if !p.stateKnown {
		// A channel just opened with a peer we never heard of: it
		// must have been connected to open it.
		p.setState(true, t)
	}
	m.flap(p, p.online, t)
}

// openChannel adds a channel (lnd's addChannel).
func (m *Monitor) openChannel(ctx context.Context, p *peerState,
	cp ChannelPoint, scid string, t int64) error {

	if c, ok := m.channels[cp]; ok {
		if c.open() {
			if c.rec.ShortChannelID == "" && scid != "" {
				return m.setSCID(ctx, c, scid)
			}
			m.log.Errorf("channel %v already present (peer %v): "+
				"ignored", cp, p.id)
		} else {
			m.log.Warnf("channel %v opened again after its close "+
				"at %v: ignored", cp, nsTime(c.closedAt))
		}
		return nil
	}
	saved := p.peerVals
	if !p.tracked {
		m.track(p, t)
	}
	p.openChans++
	if p.committedLen() == p.liveStart {
		m.addEvent(p, p.state(), t)
	}
	p.lastEvent = t
	c := &channelState{
		rec: ChannelRecord{
			Point:          cp,
			Peer:           p.id,
			ShortChannelID: scid,
			OpenedAt:       nsTime(t),
		},
		openedAt: t,
	}
	if err := m.writePeer(ctx, p, saved, &c.rec); err != nil {
		return fmt.Errorf("record open of channel %v with peer %v: %w",
			cp, p.id, err)
	}
	m.channels[cp] = c
	m.log.Infof("channel %v with peer %v opened", cp, p.id)
	return nil
}

// setSCID records the short channel id of a channel first seen without
// one (it is only known once the funding transaction confirmed).
func (m *Monitor) setSCID(ctx context.Context, c *channelState,
	scid string) error {

	rec := c.rec
	rec.ShortChannelID = scid
	b := m.newBatch()
	b.Channels = append(b.Channels, rec)
	if err := m.cfg.Store.Write(ctx, b); err != nil {
		return fmt.Errorf("record short channel id %s of channel %v: "+
			"%w", scid, rec.Point, err)
	}
	c.rec = rec
	m.log.Debugf("channel %v has short channel id %s", rec.Point, scid)
	return nil
}

// closeChannel closes a channel (lnd's removeChannel), freezing its
// numbers.
func (m *Monitor) closeChannel(ctx context.Context, p *peerState,
	cp ChannelPoint, t int64) error {

	c, ok := m.channels[cp]
	if !ok || !c.open() {
		if ok {
			m.log.Debugf("channel %v closed again: ignored", cp)
		} else {
			m.log.Warnf("close of unknown channel %v (peer %v): "+
				"ignored", cp, p.id)
		}
		return nil
	}
	if c.rec.Peer != p.id {
		m.log.Warnf("close of channel %v names peer %v, but its peer "+
			"is %v", cp, p.id, c.rec.Peer)
		p = m.peers[c.rec.Peer]
		t = max(t, p.lastEvent)
	}
	now := m.now()
	rec := c.rec
	rec.ClosedAt = nsTime(t)
	rec.Frozen = make(map[string]WindowNumbers, len(PresetWindows))
	for _, w := range PresetWindows {
		n := m.channelWindow(c, p, w, t, max(now, t))
		rec.Frozen[w.Name] = WindowNumbers{
			Monitored: time.Duration(n.monitored),
			Uptime:    time.Duration(n.uptime),
		}
	}

	saved := p.peerVals
	p.openChans--
	if p.openChans == 0 {
		// lnd clears the live log; we keep the history and mark the
		// time from here on as unobserved.
		if p.hasStaged {
			p.pending = append(p.pending, p.staged)
			p.hasStaged = false
		}
		if p.loggedState() != StateUnknown {
			p.pending = append(p.pending, ev64{t, StateUnknown})
		}
		p.liveStart = p.committedLen()
	}
	p.lastEvent = t
	if err := m.writePeer(ctx, p, saved, &rec); err != nil {
		return fmt.Errorf("record close of channel %v with peer %v: %w",
			cp, p.id, err)
	}
	c.rec = rec
	c.closedAt = t
	m.log.Infof("channel %v with peer %v closed", cp, p.id)
	return nil
}

// Sync implements Sink.
func (m *Monitor) Sync(ctx context.Context, snap Snapshot) error {
	if err := snap.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usable(); err != nil {
		return err
	}
	t := timeNs(snap.Time)
	if t == 0 {
		t = m.now()
	}
	t = max(t, m.gapEdge())
	online := make(map[PeerID]bool, len(snap.OnlinePeers))
	for _, id := range snap.OnlinePeers {
		online[id] = true
	}
	inSnap := make(map[ChannelPoint]bool, len(snap.Channels))
	for _, sc := range snap.Channels {
		inSnap[sc.Point] = true
		if _, ok := online[sc.Peer]; !ok {
			online[sc.Peer] = false
		}
	}

	// Every peer the snapshot names gets its state recorded, including
	// peers seen for the first time.
	for id := range online {
		m.peer(id)
	}
	if m.gapOpen {
		if err := m.closeGap(ctx, t, online); err != nil {
			return err
		}
	} else {
		// Connected all along: a state that differs was missed; record
		// it without counting a flap.
		for id, on := range online {
			if err := m.reconcileState(ctx, m.peers[id], on, t); err != nil {
				return err
			}
		}
		for _, p := range m.peers {
			if _, ok := online[p.id]; !ok && p.stateKnown && p.online {
				if err := m.reconcileState(ctx, p, false, t); err != nil {
					return err
				}
			}
		}
	}
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	for cp, c := range m.channels {
		if c.open() && !inSnap[cp] {
			p := m.peers[c.rec.Peer]
			m.log.Infof("channel %v is no longer open on the node: "+
				"closing it", cp)
			keep(m.closeChannel(ctx, p, cp, max(t, p.lastEvent)))
		}
	}
	for _, sc := range snap.Channels {
		if c, ok := m.channels[sc.Point]; ok {
			if c.open() && c.rec.ShortChannelID == "" &&
				sc.ShortChannelID != "" {

				keep(m.setSCID(ctx, c, sc.ShortChannelID))
			}
			continue
		}
		p := m.peer(sc.Peer)
		keep(m.openChannel(ctx, p, sc.Point, sc.ShortChannelID,
			max(t, p.lastEvent)))
	}
	return firstErr
}

// reconcileState records a peer state found by a snapshot, without a flap.
func (m *Monitor) reconcileState(ctx context.Context, p *peerState,
	online bool, t int64) error {

	t = max(t, p.lastEvent)
	if !p.tracked {
		if !p.stateKnown || p.online != online {
			p.setState(online, t)
		}
		return nil
	}
	if p.stateKnown && p.online == online {
		return nil
	}
	saved := p.peerVals
	p.setState(online, t)
	p.lastEvent = t
	if p.openChans > 0 {
		m.addEvent(p, p.state(), t)
	}
	if err := m.writePeer(ctx, p, saved, nil); err != nil {
		return fmt.Errorf("record state of peer %v: %w", p.id, err)
	}
	m.log.Infof("peer %v found %s by reconciliation", p.id,
		p.state())
	return nil
}

// NodeLost implements Sink.
func (m *Monitor) NodeLost(ctx context.Context, at time.Time) error {
	if !timeInRange(at) {
		return fmt.Errorf("%w: node lost at %v: time out of range",
			ErrBadInput, at)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usable(); err != nil {
		return err
	}
	t := timeNs(at)
	if t == 0 {
		t = m.now()
	}
	return m.openGap(ctx, t)
}

// Connected reports whether the node is connected (no open gap) and since
// when.
func (m *Monitor) Connected() (bool, time.Time) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.started || m.stopped || m.gapOpen {
		return false, time.Time{}
	}
	return true, nsTime(m.connectedSince)
}
