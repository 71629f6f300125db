package cln

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOptionValuesCheck(t *testing.T) {
	good := optionValues{Datadir: "chanfitness", Store: "badger",
		Reconcile: 60, Retention: 90, Grace: 60}
	tests := []struct {
		name    string
		change  func(v *optionValues)
		want    settings
		wantErr []string
	}{
		{"defaults", func(*optionValues) {}, settings{
			Datadir: "chanfitness", Store: "badger",
			Reconcile: time.Minute, Retention: 90 * 24 * time.Hour,
			Grace: time.Minute}, nil},
		{"memory, keep forever", func(v *optionValues) {
			v.Store = "memory"
			v.Retention = 0
			v.Reconcile = 1
			v.Grace = 0
		}, settings{Datadir: "chanfitness", Store: "memory",
			Reconcile: time.Second, Retention: -1}, nil},
		{"negative grace", func(v *optionValues) { v.Grace = -1 },
			settings{}, []string{"chanfitness-startup-grace",
				"-1 seconds"}},
		{"huge grace", func(v *optionValues) {
			v.Grace = maxGrace + 1
		}, settings{}, []string{"chanfitness-startup-grace", "3601"}},
		{"empty datadir", func(v *optionValues) { v.Datadir = "" },
			settings{}, []string{"chanfitness-datadir", "empty"}},
		{"bad store", func(v *optionValues) { v.Store = "BADGER" },
			settings{}, []string{"chanfitness-store", `"BADGER"`}},
		{"empty store", func(v *optionValues) { v.Store = "" },
			settings{}, []string{"chanfitness-store", `""`}},
		{"zero interval", func(v *optionValues) { v.Reconcile = 0 },
			settings{}, []string{"chanfitness-reconcile-interval",
				"0 seconds"}},
		{"huge interval", func(v *optionValues) {
			v.Reconcile = maxReconcile + 1
		}, settings{}, []string{"chanfitness-reconcile-interval",
			"86401"}},
		{"negative retention", func(v *optionValues) {
			v.Retention = -3
		}, settings{}, []string{"chanfitness-closed-retention-days",
			"-3 days"}},
		{"huge retention", func(v *optionValues) {
			v.Retention = maxRetention + 1
		}, settings{}, []string{"chanfitness-closed-retention-days",
			"36501"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := good
			tc.change(&v)
			s, err := v.check()
			if tc.wantErr != nil {
				for _, w := range tc.wantErr {
					require.ErrorContains(t, err, w)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, s)
		})
	}
}
