package storagetest

import (
	"testing"

	"github.com/chanfitness/chanfitness/core"
)

// fullAlert returns an alert record with every field set.
func fullAlert(key string) core.AlertRecord {
	return core.AlertRecord{
		Key:         key,
		Body:        []byte(`{"kind":"peer_offline"}`),
		CreatedAt:   at(10),
		Pending:     []string{"webhook", "command"},
		Attempts:    3,
		NextAttempt: at(20),
	}
}

// testAlertUpsert: alerts are inserted and replaced by key, loaded in
// key order, and a delivered alert (nothing pending) is kept as such.
func testAlertUpsert(t *testing.T, h *harness) {
	b, a := fullAlert("b"), fullAlert("a")
	a.Body = []byte("{}")
	h.write(&core.Batch{Alerts: []core.AlertRecord{b, a}})
	h.check(&core.StoredState{Alerts: []core.AlertRecord{a, b}})

	sent := b
	sent.Pending = nil
	sent.Attempts = 0
	sent.NextAttempt = at(0)
	h.write(&core.Batch{Alerts: []core.AlertRecord{sent}})
	h.check(&core.StoredState{Alerts: []core.AlertRecord{a, sent}})

	// A key holding bytes of every kind, and a longer one.
	odd := fullAlert("a\x00\xff/é")
	long := fullAlert(string(make([]byte, 300)))
	h.write(&core.Batch{Alerts: []core.AlertRecord{odd, long}})
	h.check(&core.StoredState{
		Alerts: []core.AlertRecord{long, a, odd, sent}})
}

// testAlertDelete: DeleteAlerts removes by key, after the batch's Alerts;
// an unknown key is no error.
func testAlertDelete(t *testing.T, h *harness) {
	a, b, c := fullAlert("a"), fullAlert("b"), fullAlert("c")
	h.write(&core.Batch{Alerts: []core.AlertRecord{a, b, c}})
	h.write(&core.Batch{DeleteAlerts: []string{"b", "unknown"}})
	h.check(&core.StoredState{Alerts: []core.AlertRecord{a, c}})

	d := fullAlert("d")
	h.write(&core.Batch{
		Alerts:       []core.AlertRecord{d},
		DeleteAlerts: []string{"a", "d"},
	})
	h.check(&core.StoredState{Alerts: []core.AlertRecord{c}})
}

// testAlertNotShared: neither the batch written nor the state loaded
// shares memory with the store.
func testAlertNotShared(t *testing.T, h *harness) {
	a := fullAlert("a")
	b := &core.Batch{Alerts: []core.AlertRecord{a}}
	h.write(b)
	want := fullAlert("a")

	b.Alerts[0].Body[0] = 'X'
	b.Alerts[0].Pending[0] = "changed"
	b.Reset()

	st := h.load()
	st.Alerts[0].Body[0] = 'Y'
	st.Alerts[0].Pending[0] = "changed"
	h.check(&core.StoredState{Alerts: []core.AlertRecord{want}})
}
