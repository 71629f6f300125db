package advice_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/internal/advice"
	"github.com/stretchr/testify/require"
)

func name(o advice.Option) string { return o.Name }

func TestParseDefaults(t *testing.T) {
	s, err := advice.Parse(nil, "/data", name)
	require.NoError(t, err)
	require.Equal(t, core.VerdictConfig{
		MinMonitored: core.DefaultMinMonitored,
		Window:       core.DefaultVerdictWindow,
		WatchUptime:  core.DefaultWatchUptime,
		CloseUptime:  core.DefaultCloseUptime,
		WatchFlaps:   core.DefaultWatchFlaps,
		CloseFlaps:   core.DefaultCloseFlaps,
		WatchOutage:  core.DefaultWatchOutage,
		CloseOutage:  core.DefaultCloseOutage,
	}, s.Verdict)
	require.Equal(t, advice.DefaultOfflineAfter, s.OfflineAfter)
	require.Equal(t, advice.DefaultVerdictAfter, s.VerdictAfter)
	require.Empty(t, s.ExportDir)
	require.Empty(t, s.Webhook)
	require.Empty(t, s.Command)
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		values  map[string]string
		check   func(t *testing.T, s advice.Settings)
		wantErr string
	}{{
		name: "relative export directory",
		values: map[string]string{advice.ExportDir: "out",
			advice.MinMonitored: "0"},
		check: func(t *testing.T, s advice.Settings) {
			require.Equal(t, "/data/out", s.ExportDir)
			require.Positive(t, s.Verdict.MinMonitored)
			require.Less(t, s.Verdict.MinMonitored, time.Second)
		},
	}, {
		name:    "fractional duration",
		values:  map[string]string{advice.Window: "1.5d"},
		wantErr: `verdict-window "1.5d"`,
	}, {
		name:    "window under an hour",
		values:  map[string]string{advice.Window: "30m"},
		wantErr: `verdict-window "30m": want 1h to 36500d`,
	}, {
		name:    "ratio zero",
		values:  map[string]string{advice.CloseUptime: "0"},
		wantErr: `verdict-close-uptime "0": want a ratio`,
	}, {
		name:    "ratio not a number",
		values:  map[string]string{advice.WatchUptime: "NaN"},
		wantErr: `verdict-watch-uptime "NaN": want a ratio`,
	}, {
		name:    "flaps not a number",
		values:  map[string]string{advice.WatchFlaps: "many"},
		wantErr: `verdict-watch-flaps "many": want a whole number`,
	}, {
		name:    "close flaps under watch flaps",
		values:  map[string]string{advice.CloseFlaps: "10"},
		wantErr: "verdict flaps 50 and 10",
	}, {
		name:    "offline after zero",
		values:  map[string]string{advice.OfflineAfter: "0"},
		wantErr: `alert-offline-after "0": want 1m to`,
	}, {
		name:   "verdict after zero: at once",
		values: map[string]string{advice.VerdictAfter: "0"},
		check: func(t *testing.T, s advice.Settings) {
			require.Negative(t, s.VerdictAfter)
		},
	}, {
		name:   "verdict after 1h",
		values: map[string]string{advice.VerdictAfter: "1h"},
		check: func(t *testing.T, s advice.Settings) {
			require.Equal(t, time.Hour, s.VerdictAfter)
		},
	}, {
		name:    "verdict after under a minute",
		values:  map[string]string{advice.VerdictAfter: "30s"},
		wantErr: `alert-verdict-after "30s": want 1m to`,
	}, {
		name:    "verdict after negative",
		values:  map[string]string{advice.VerdictAfter: "-1h"},
		wantErr: `alert-verdict-after "-1h"`,
	}, {
		name:    "webhook without host",
		values:  map[string]string{advice.Webhook: "http:///x"},
		wantErr: `alert-webhook "http:///x": want an http`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := advice.Parse(tt.values, "/data", name)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, advice.ErrOption)
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, s)
		})
	}
}

// TestReadmeListsVerdictOptions: the README's table of the options of
// both front ends has every verdict option with both names and its
// default.
func TestReadmeListsVerdictOptions(t *testing.T) {
	b, err := os.ReadFile("../../../README.md")
	require.NoError(t, err)
	for _, o := range advice.Options() {
		if !strings.HasPrefix(o.Name, "verdict-") {
			continue
		}
		row := "| `chanfitness-" + o.Name + "` | `--" + o.Flag() + "` |"
		i := strings.Index(string(b), row)
		require.GreaterOrEqual(t, i, 0, "README lacks %q", row)
		line := string(b[i:])
		line = line[:strings.IndexByte(line, '\n')]
		require.Contains(t, line, "| `"+o.Default+"` |",
			"default of %s", o.Name)
	}
}
