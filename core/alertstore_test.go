package core_test

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

// TestAlertRecordsSurviveRestart: alert records put through the monitor
// reach the store, come back after a restart, and deletes stick.
func TestAlertRecordsSurviveRestart(t *testing.T) {
	tc := newTestCtx(t)
	require.Empty(t, tc.m.Alerts())

	a := core.AlertRecord{Key: "b", Body: []byte(`{"x":1}`),
		CreatedAt: t0, Pending: []string{"webhook"}, Attempts: 1,
		NextAttempt: t0.Add(time.Minute)}
	b := core.AlertRecord{Key: "a", Body: []byte(`{}`), CreatedAt: t0}
	require.NoError(t, tc.m.PutAlerts(tc.ctx, []core.AlertRecord{a, b},
		nil))

	// The caller's slices are not kept.
	a.Body[0] = 'X'
	a.Pending[0] = "changed"

	tc.restart(time.Hour)
	got := tc.m.Alerts()
	require.Len(t, got, 2)
	require.Equal(t, "a", got[0].Key)
	require.Equal(t, "b", got[1].Key)
	require.Equal(t, `{"x":1}`, string(got[1].Body))
	require.Equal(t, []string{"webhook"}, got[1].Pending)

	// Nor are the returned ones.
	got[1].Body[0] = 'Y'
	require.Equal(t, `{"x":1}`, string(tc.m.Alerts()[1].Body))

	require.NoError(t, tc.m.PutAlerts(tc.ctx, nil, []string{"a"}))
	tc.restart(time.Hour)
	got = tc.m.Alerts()
	require.Len(t, got, 1)
	require.Equal(t, "b", got[0].Key)
}
