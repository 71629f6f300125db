package daemon

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btclog/v2"
	"github.com/stretchr/testify/require"
)

// TestDebugLevel sets --debuglevel as lnd users write it and checks which
// subsystem's lines at which level reach the log.
func TestDebugLevel(t *testing.T) {
	// Each subsystem writes one line per level; want lists the lines
	// that pass, as "<SUBS> <level>".
	all := func(subs string, levels ...string) []string {
		var out []string
		for _, l := range levels {
			out = append(out, subs+" "+l)
		}
		return out
	}
	join := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name string
		spec string
		want []string
	}{{
		name: "default info everywhere",
		spec: "info",
		want: join(all("LNDC", "INF", "WRN", "ERR"),
			all("STOR", "INF", "WRN", "ERR"),
			all("CHFT", "INF", "WRN", "ERR")),
	}, {
		name: "debug everywhere",
		spec: "debug",
		want: join(all("LNDC", "DBG", "INF", "WRN", "ERR"),
			all("STOR", "DBG", "INF", "WRN", "ERR"),
			all("CHFT", "DBG", "INF", "WRN", "ERR")),
	}, {
		name: "per subsystem, the rest at info",
		spec: "STOR=warn,CHFT=debug",
		want: join(all("LNDC", "INF", "WRN", "ERR"),
			all("STOR", "WRN", "ERR"),
			all("CHFT", "DBG", "INF", "WRN", "ERR")),
	}, {
		name: "global and per subsystem",
		spec: "error,CHFT=debug",
		want: join(all("LNDC", "ERR"), all("STOR", "ERR"),
			all("CHFT", "DBG", "INF", "WRN", "ERR")),
	}, {
		name: "off",
		spec: "off,LNDC=warn",
		want: all("LNDC", "WRN", "ERR"),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
			l, err := newLogs(&buf, func() time.Time { return at },
				tc.spec)
			require.NoError(t, err)
			for _, lg := range []btclog.Logger{l.daemon, l.store,
				l.monitor} {

				lg.Debugf("x")
				lg.Infof("x")
				lg.Warnf("x")
				lg.Errorf("x")
			}
			var got []string
			for _, line := range strings.Split(
				strings.TrimSpace(buf.String()), "\n") {

				if line == "" {
					continue
				}
				// "2026-11-21 10:00:00.000 [INF] LNDC: x"
				f := strings.Fields(line)
				require.Len(t, f, 5, line)
				require.Equal(t, "2026-11-21", f[0])
				require.Equal(t, "x", f[4])
				got = append(got, strings.TrimSuffix(f[3], ":")+
					" "+strings.Trim(f[2], "[]"))
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// TestDebugLevelErrors: a bad --debuglevel is refused with an error that
// names the bad part.
func TestDebugLevelErrors(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want []string
	}{
		{"unknown level", "loud", []string{`"loud"`, "[loud]"}},
		{"empty", "", []string{`debuglevel ""`}},
		{"unknown subsystem", "STORE=warn",
			[]string{"[STORE]", "CHFT LNDC STOR"}},
		{"subsystem in lower case", "stor=warn", []string{"[stor]"}},
		{"unknown level of a subsystem", "CHFT=verbose",
			[]string{"[verbose]"}},
		{"pair without =", "info,CHFT", []string{"[CHFT]"}},
		{"two =", "CHFT=debug=x", []string{"[CHFT=debug=x]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkDebugLevel(tc.spec)
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}
