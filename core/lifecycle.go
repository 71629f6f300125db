package core

import (
	"context"
	"errors"
	"fmt"
)

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
			now := m.now()
			m.pruneClosed(ctx, now)
			m.forgetPeers(now)
			m.mu.Unlock()
		case <-m.quit:
			return
		}
	}
}

// tick writes the heartbeat and syncs the store.
func (m *Monitor) tick(ctx context.Context) {
	m.mu.Lock()
	m.forgetPeers(m.now())
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
