package core

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

// Alert records. The monitor owns the store, so the alert records an
// alerter keeps there go through it: loaded with the history at Start,
// written in order with the other batches.

// Alerts returns copies of the alert records, ordered by key.
func (m *Monitor) Alerts() []AlertRecord {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]AlertRecord, 0, len(m.alerts))
	for _, k := range slices.Sorted(maps.Keys(m.alerts)) {
		out = append(out, cloneAlert(m.alerts[k]))
	}
	return out
}

// PutAlerts inserts or replaces the alert records put (by key), then
// removes the keys del, and returns once that is written to the store.
// While the store fails it returns an error wrapping ErrNotWritten; the
// change is kept and written in order later.
func (m *Monitor) PutAlerts(ctx context.Context, put []AlertRecord,
	del []string) error {

	m.mu.Lock()
	if err := m.usable(); err != nil {
		m.mu.Unlock()
		return err
	}
	if len(put) == 0 && len(del) == 0 {
		m.mu.Unlock()
		return nil
	}
	b := &m.chg().q.b
	for _, a := range put {
		a = cloneAlert(a)
		m.alerts[a.Key] = a
		b.Alerts = append(b.Alerts, cloneAlert(a))
	}
	for _, k := range del {
		delete(m.alerts, k)
		b.DeleteAlerts = append(b.DeleteAlerts, k)
	}
	seq := m.commit()
	m.mu.Unlock()
	if err := m.await(ctx, seq); err != nil {
		return fmt.Errorf("record %d alerts: %w", len(put)+len(del), err)
	}
	return nil
}

// cloneAlert returns a copy of a that shares no memory with it.
func cloneAlert(a AlertRecord) AlertRecord {
	a.Body = slices.Clone(a.Body)
	a.Pending = slices.Clone(a.Pending)
	return a
}
