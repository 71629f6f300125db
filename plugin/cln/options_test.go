package cln

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/plugin/internal/advice"
	"github.com/stretchr/testify/require"
)

// TestOptionValuesCheck reads every option in the duration vocabulary
// shared with the lnd companion, in the bare-number forms the options
// took before, and refuses what it cannot use with an error naming the
// option and the value.
func TestOptionValuesCheck(t *testing.T) {
	day := 24 * time.Hour
	good := optionValues{Datadir: "chanfitness", Store: "badger",
		Reconcile: "1m", Retention: "90d", Grace: "1m", Sync: "1m"}
	adv, err := advice.Parse(nil, "", adviceName)
	require.NoError(t, err)
	defaults := settings{Datadir: "chanfitness", Store: "badger",
		Reconcile: time.Minute, Retention: 90 * day,
		Grace: time.Minute, Sync: time.Minute, Advice: adv}
	with := func(f func(s *settings)) settings {
		s := defaults
		f(&s)
		return s
	}
	tests := []struct {
		name    string
		change  func(v *optionValues)
		want    settings
		wantErr []string
	}{
		{"defaults", func(*optionValues) {}, defaults, nil},
		{"memory, keep forever, no reconcile, no grace",
			func(v *optionValues) {
				v.Store = "memory"
				v.Retention = "0"
				v.Reconcile = "0"
				v.Grace = "0"
			}, settings{Datadir: "chanfitness", Store: "memory",
				Retention: -1, Sync: time.Minute, Advice: adv},
			nil},
		{"postgres", func(v *optionValues) {
			v.Store = "postgres"
			v.PostgresDSN = "postgres://u:p@db/h"
		}, with(func(s *settings) {
			s.Store = "postgres"
			s.PostgresDSN = "postgres://u:p@db/h"
		}), nil},
		{"postgres without a database", func(v *optionValues) {
			v.Store = "postgres"
		}, settings{}, []string{"chanfitness-store=postgres needs",
			"chanfitness-postgres-dsn"}},
		{"a database for badger", func(v *optionValues) {
			v.PostgresDSN = "postgres://db/h"
		}, settings{}, []string{"chanfitness-postgres-dsn is given",
			"set chanfitness-store=postgres"}},
		{"sync every 5 minutes", func(v *optionValues) {
			v.Sync = "5m"
		}, with(func(s *settings) { s.Sync = 5 * time.Minute }), nil},
		{"verdict window and export directory",
			func(v *optionValues) {
				v.Advice = map[string]string{
					advice.Window:    "14d",
					advice.ExportDir: "export",
				}
			}, with(func(s *settings) {
				s.Advice.Verdict.Window = 14 * day
				s.Advice.ExportDir = "export"
			}), nil},
		{"uptime ratio out of range", func(v *optionValues) {
			v.Advice = map[string]string{advice.WatchUptime: "2"}
		}, settings{}, []string{"chanfitness-verdict-watch-uptime",
			`"2"`, "want a ratio"}},
		{"zero sync", func(v *optionValues) { v.Sync = "0" },
			settings{}, []string{"chanfitness-sync-interval",
				`"0"`}},
		{"durations", func(v *optionValues) {
			v.Reconcile = "5m"
			v.Retention = "365d"
			v.Grace = "2m30s"
		}, with(func(s *settings) {
			s.Reconcile = 5 * time.Minute
			s.Retention = 365 * day
			s.Grace = 150 * time.Second
		}), nil},
		{"reconcile interval in seconds, the older form",
			func(v *optionValues) { v.Reconcile = "300" },
			with(func(s *settings) {
				s.Reconcile = 5 * time.Minute
			}), nil},
		{"grace in seconds, the older form",
			func(v *optionValues) { v.Grace = "90" },
			with(func(s *settings) {
				s.Grace = 90 * time.Second
			}), nil},
		{"retention in days, the older option",
			func(v *optionValues) { v.RetentionDays = "365" },
			with(func(s *settings) {
				s.Retention = 365 * day
			}), nil},
		{"retention days 0 is forever",
			func(v *optionValues) { v.RetentionDays = "0" },
			with(func(s *settings) { s.Retention = -1 }), nil},
		{"both retention options", func(v *optionValues) {
			v.RetentionDays = "365"
			v.Retention = "30d"
		}, settings{}, []string{"chanfitness-closed-retention and " +
			"chanfitness-closed-retention-days"}},
		{"retention as a bare number", func(v *optionValues) {
			v.Retention = "90"
		}, with(func(s *settings) { s.Retention = 90 * day }), nil},
		{"negative grace", func(v *optionValues) { v.Grace = "-1" },
			settings{}, []string{"chanfitness-startup-grace",
				`"-1"`}},
		{"huge grace", func(v *optionValues) { v.Grace = "3601" },
			settings{}, []string{"chanfitness-startup-grace",
				"1h1s is out of range", "0 (none) or 1s to 1h"}},
		{"empty datadir", func(v *optionValues) { v.Datadir = "" },
			settings{}, []string{"chanfitness-datadir", "empty"}},
		{"bad store", func(v *optionValues) { v.Store = "BADGER" },
			settings{}, []string{"chanfitness-store", `"BADGER"`}},
		{"empty store", func(v *optionValues) { v.Store = "" },
			settings{}, []string{"chanfitness-store", `""`}},
		{"empty interval", func(v *optionValues) { v.Reconcile = "" },
			settings{}, []string{"chanfitness-reconcile-interval",
				`""`}},
		{"fractional interval", func(v *optionValues) {
			v.Reconcile = "1.5m"
		}, settings{}, []string{"chanfitness-reconcile-interval",
			`"1.5m"`, "such as 90d"}},
		{"huge interval", func(v *optionValues) {
			v.Reconcile = "2d"
		}, settings{}, []string{"chanfitness-reconcile-interval",
			"2d is out of range"}},
		{"huge interval in seconds", func(v *optionValues) {
			v.Reconcile = "86401"
		}, settings{}, []string{"chanfitness-reconcile-interval",
			"1d1s"}},
		{"interval too large to count", func(v *optionValues) {
			v.Reconcile = "99999999999999999999"
		}, settings{}, []string{"chanfitness-reconcile-interval",
			"99999999999999999999"}},
		{"negative retention days", func(v *optionValues) {
			v.RetentionDays = "-3"
		}, settings{}, []string{"chanfitness-closed-retention-days",
			`"-3"`}},
		{"huge retention", func(v *optionValues) {
			v.Retention = "36501d"
		}, settings{}, []string{"chanfitness-closed-retention",
			"36501d"}},
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
