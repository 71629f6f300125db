package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

// maxErrBody bounds an error answer whatever the query (a value is
// quoted whole only up to 72 bytes, 4 characters a byte at most).
const maxErrBody = 1000

func TestReportQueryRejects(t *testing.T) {
	huge := strings.Repeat("ab", 1<<19)
	for _, tc := range []struct {
		name, query, want string
	}{
		{"undecodable peer", "peer=%ZZ", "query parameter peer: bad " +
			"escape"},
		{"undecodable window", "window=%zz", "query parameter window: " +
			"bad escape"},
		{"undecodable name", "%zz=1", "bad escape in its name"},
		{"repeated window", "window=lifetime&window=0s",
			"query parameter window given more than once"},
		{"repeated peer", "peer=" + peerA + "&peer=" + peerB,
			"query parameter peer given more than once"},
		{"unknown", "peers=" + peerA, `unknown query parameter "peers"`},
		{"unknown without value", "json", `unknown query parameter ` +
			`"json"`},
		{"semicolon", "window=1d;peer=x", `window "1d;peer=x"`},
		{"empty peer", "peer=", "query parameter peer is empty"},
		{"bare peer", "peer", "query parameter peer is empty"},
		{"empty window", "window=", "query parameter window is empty"},
		{"plus window", "window=%2B1h", `query parameter window: bad ` +
			`input: window "+1h"`},
		{"space window", "window=+1h", `window " 1h"`},
		{"repeated unit", "window=1h1h", `window "1h1h"`},
		{"huge duration", "window=9223372036854775807ns",
			`window "9223372036854775807ns"`},
		{"long window", "window=" + strings.Repeat("1h", 50000),
			`"1h1h1h1h1h1h1h1h"…(100000 bytes)`},
		{"huge peer", "peer=" + huge, `query parameter peer: bad ` +
			`input: peer id "abababababababab"…(1048576 bytes)`},
		{"huge unknown", strings.Repeat("x", 1<<20) + "=1",
			`unknown query parameter "xxxxxxxxxxxxxxxx"…(1048576 ` +
				`bytes)`},
		{"huge bad escape", "window=" + strings.Repeat("%", 1<<20),
			`"%%%%%%%%%%%%%%%%"…(1048576 bytes)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &stubMonitor{report: sampleReport()}
			code, body := get(t, NewHandler(m, ""),
				PathReport+"?"+tc.query)
			require.Equal(t, http.StatusBadRequest, code, body)
			var e ErrorBody
			require.NoError(t, json.Unmarshal([]byte(body), &e))
			require.Contains(t, e.Error, tc.want)
			require.Less(t, len(body), maxErrBody)
			require.Nil(t, m.lastQuery.Peer, "the report was built")
		})
	}
}

func TestReportQueryCanonicalWindow(t *testing.T) {
	for _, tc := range []struct{ query, window string }{
		{"window=90m", "1h30m"},
		{"window=1h30m", "1h30m"},
		{"window=24h", "1d"},
		{"window=lifetime", "lifetime"},
		{"", ""},
		{"&&window=7d&", "7d"},
	} {
		q, err := ParseReportQuery(tc.query)
		require.NoError(t, err, tc.query)
		require.Equal(t, tc.window, q.Window, tc.query)
	}
	q, err := ParseReportQuery("peer=" + strings.ToUpper(peerA[:2]) +
		strings.ToUpper(peerA[2:]) + "&window=12h")
	require.NoError(t, err)
	require.Equal(t, peerA, q.Peer.String())
}

// FuzzParseReportQuery: any query either parses into a valid peer and a
// canonical window, or fails with a short error.
func FuzzParseReportQuery(f *testing.F) {
	for _, s := range []string{"", "peer=" + peerA, "window=90m",
		"peer=%ZZ", "window=%zz", "window=lifetime&window=0s", "peer=",
		"x=1", "window=+1h", "window=1h1h", "&&", "=", "%", "peer=%30" +
			peerA[1:]} {

		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseReportQuery(s)
		if err != nil {
			require.ErrorIs(t, err, core.ErrBadInput)
			require.Less(t, len(err.Error()), maxErrBody)
			return
		}
		if q.Window != "" {
			w, err := core.ParseWindow(q.Window)
			require.NoError(t, err)
			require.Equal(t, q.Window, w.Name)
		}
		if q.Peer != nil {
			_, err := core.ParsePeerID(q.Peer.String())
			require.NoError(t, err)
		}
	})
}
