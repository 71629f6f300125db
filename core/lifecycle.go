package core

import (
	"context"
	"errors"
	"fmt"
)

// Start loads the stored history, records the time since the last
// heartbeat as unmonitored, and starts the source and timers.
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
	m.watch.raise(m.newestStored())
	now := m.observeClock()
	// Unmonitored until the source's first Sync.
	if m.monitoringSince == 0 {
		m.monitoringSince = now
		m.setHeartbeat(now)
		m.gapOpen, m.openGapStart = true, now
		m.firstStart = true
	} else {
		m.openGap(min(max(m.heartbeat, m.lastTime), now))
	}
	m.pruneClosed(now)
	m.pruneSamples(now)
	m.commit()
	if err := m.flush(); err != nil {
		return fmt.Errorf("record start of monitoring: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.started = true
	m.syncTicker.Resume()
	m.maintTicker.Resume()
	m.wg.Add(1)
	go m.timers()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		err := m.cfg.Source.Run(runCtx, m)
		if err != nil && !errors.Is(err, context.Canceled) {
			m.log.Errorf("event source stopped: %v", err)
		}
	}()
	m.log.Infof("monitor started: %d peers, %d channels, monitoring "+
		"since %v", len(m.peers), len(m.channels),
		nsTime(m.monitoringSince))
	return nil
}

func (m *Monitor) timers() {
	defer m.wg.Done()
	for {
		select {
		case <-m.syncTicker.Ticks():
			m.tick()
		case <-m.maintTicker.Ticks():
			m.mu.Lock()
			now := m.observeClock()
			m.pruneClosed(now)
			m.pruneSamples(now)
			m.forgetPeers(now)
			seq := m.commit()
			m.mu.Unlock()
			// A failure is logged by the writer and retried at the
			// next sync tick.
			_ = m.await(context.Background(), seq)
		case <-m.quit:
			return
		}
	}
}

// tick writes the heartbeat, retries batches a failed write left queued,
// and syncs the store. While writes fail no heartbeat is queued: the
// first tick after they recover writes one.
func (m *Monitor) tick() {
	m.mu.Lock()
	now := m.observeClock()
	m.forgetPeers(now)
	if !m.gapOpen && m.StoreStatus().Writing {
		m.setHeartbeat(now)
	}
	m.commit()
	m.mu.Unlock()
	// The writer logs a failure once, when writes start failing.
	_ = m.flushAll()
	if err := m.cfg.Store.Sync(); err != nil {
		m.log.Errorf("sync store: %v", err)
	}
}

// pruneClosed forgets closed channels older than the retention period.
func (m *Monitor) pruneClosed(now int64) {
	if m.cfg.ClosedRetention < 0 {
		return
	}
	cutoff := now - int64(m.cfg.ClosedRetention)
	n := 0
	for cp, c := range m.channels {
		if !c.open() && c.closedAt < cutoff {
			q := m.chg().q
			q.b.DeleteChannels = append(q.b.DeleteChannels, cp)
			delete(m.channels, cp)
			n++
		}
	}
	if n > 0 {
		m.log.Debugf("pruned %d closed channels", n)
	}
}

// Stop stops the source and timers, writes a last heartbeat and what is
// still queued, and syncs the store. It does not close the store. It is
// safe to call more than once.
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
	if now := m.observeClock(); !m.gapOpen {
		m.setHeartbeat(now)
	}
	m.commit()
	m.mu.Unlock()
	err := m.flushAll()
	if serr := m.cfg.Store.Sync(); serr != nil && err == nil {
		err = fmt.Errorf("sync store: %w", serr)
	}
	m.log.Infof("monitor stopped")
	return err
}
