package cln

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

func TestParseReportArgs(t *testing.T) {
	peer, err := core.ParsePeerID(peerA)
	require.NoError(t, err)
	tests := []struct {
		name    string
		params  string
		peer    *core.PeerID
		window  string
		wantErr []string
	}{
		{"absent", ``, nil, "lifetime", nil},
		{"null", `null`, nil, "lifetime", nil},
		{"empty array", `[]`, nil, "lifetime", nil},
		{"empty object", `{}`, nil, "lifetime", nil},
		{"peer", `["` + peerA + `"]`, &peer, "lifetime", nil},
		{"peer and window", `["` + peerA + `","7d"]`, &peer, "7d",
			nil},
		{"null peer", `[null,"12h"]`, nil, "12h", nil},
		{"empty peer", `["","30d"]`, nil, "30d", nil},
		{"named", `{"peer_id":"` + peerA + `","window":"1d"}`, &peer,
			"1d", nil},
		{"named window only", `{"window":"90m"}`, nil, "1h30m", nil},
		{"named nulls", `{"peer_id":null,"window":null}`, nil,
			"lifetime", nil},
		{"too many", `["` + peerA + `","7d","x"]`, nil, "",
			[]string{"too many parameters", "got 3"}},
		{"unknown keys", `{"peer":"x","when":"7d"}`, nil, "",
			[]string{`unknown parameter "peer", "when"`,
				"[peer_id] [window]"}},
		{"bad peer", `["zz"]`, nil, "", []string{"peer_id",
			`"zz"`, "66 hex"}},
		{"peer a number", `[123]`, nil, "", []string{"peer_id 123",
			"want a string"}},
		{"peer an object", `[{"a":1}]`, nil, "", []string{
			`peer_id {"a":1}`}},
		{"bad window", `[null,"3x"]`, nil, "", []string{"window",
			`"3x"`}},
		{"zero window", `{"window":"0s"}`, nil, "", []string{"window",
			`"0s"`}},
		{"window a number", `[null,30]`, nil, "", []string{
			"window 30", "such as 12h"}},
		{"canonical day", `[null,"24h"]`, nil, "1d", nil},
		{"repeated unit", `[null,"1h1h"]`, nil, "", []string{"window",
			`"1h1h"`}},
		{"plus sign", `[null,"+1h"]`, nil, "", []string{"window"}},
		{"huge nanoseconds", `[null,"9223372036854775807ns"]`, nil, "",
			[]string{"window"}},
		{"beyond ten years", `[null,"3651d"]`, nil, "",
			[]string{"window"}},
		{"long peer", `["` + strings.Repeat("02", 1<<19) + `"]`, nil,
			"", []string{"peer_id", "1048576 bytes", "too long"}},
		{"long window", `[null,"` + strings.Repeat("1h", 1<<19) +
			`"]`, nil, "", []string{"window", "too long"}},
		{"long unknown key", `{"` + strings.Repeat("k", 1<<20) +
			`":1}`, nil, "", []string{"unknown parameter"}},
		{"many unknown keys", `{"a":1,"b":1,"c":1,"d":1,"e":1}`, nil,
			"", []string{`unknown parameter "a", "b", "c", and 2 more`}},
		{"long params", `"` + strings.Repeat("x", 1<<20) + `"`, nil,
			"", []string{"params"}},
		{"params a string", `"x"`, nil, "", []string{`params "x"`}},
		{"params a number", `5`, nil, "", []string{"params 5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args, err := parseReportArgs(json.RawMessage(tc.params))
			if tc.wantErr != nil {
				require.Error(t, err)
				for _, w := range tc.wantErr {
					require.ErrorContains(t, err, w)
				}
				require.Less(t, len(err.Error()), 600,
					"quotes only a short prefix")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.peer, args.Peer)
			require.Equal(t, tc.window, args.Window)
			q := args.query()
			require.Equal(t, tc.window, q.Window)
		})
	}
}
