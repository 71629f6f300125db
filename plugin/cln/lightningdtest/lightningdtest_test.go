package lightningdtest

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestValidateManifest(t *testing.T) {
	okOpt := `{"name":"chanfitness-x","type":"int","default":3,` +
		`"description":"d"}`
	okMethod := `{"name":"chanfitness","usage":"[a]","description":"d"}`
	manifest := func(opts, methods, rest string) string {
		return `{"options":[` + opts + `],"rpcmethods":[` + methods +
			`]` + rest + `}`
	}
	tests := []struct {
		name    string
		raw     string
		wantErr string
	}{
		{"valid", manifest(okOpt, okMethod, `,"subscriptions":`+
			`["connect","shutdown"],"dynamic":true,"nonnumericids":true`),
			""},
		{"no options", `{"rpcmethods":[]}`, "options\" was not found"},
		{"options not an array", `{"options":{}}`, "not an array"},
		{"option without type", manifest(`{"name":"chanfitness-x",`+
			`"description":"d"}`, "", ""), "missing either"},
		{"option without description", manifest(`{"name":`+
			`"chanfitness-x","type":"int"}`, "", ""), "missing either"},
		{"upper-case name", manifest(`{"name":"chanfitness-X",`+
			`"type":"string","description":"d"}`, "", ""),
			"lower-case"},
		{"no prefix", manifest(`{"name":"store","type":"string",`+
			`"description":"d"}`, "", ""), "prefix"},
		{"unknown type", manifest(`{"name":"chanfitness-x","type":`+
			`"float","description":"d"}`, "", ""), "supported"},
		{"int default a string", manifest(`{"name":"chanfitness-x",`+
			`"type":"int","default":"3","description":"d"}`, "", ""),
			"not a valid int"},
		{"int default a fraction", manifest(`{"name":"chanfitness-x",`+
			`"type":"int","default":1.5,"description":"d"}`, "", ""),
			"not a valid int"},
		{"bool default a string", manifest(`{"name":"chanfitness-x",`+
			`"type":"bool","default":"yes","description":"d"}`, "", ""),
			"not a valid bool"},
		{"duplicate option", manifest(okOpt+","+okOpt, "", ""),
			"declared twice"},
		{"no rpcmethods", `{"options":[]}`, "rpcmethods\" missing"},
		{"method without usage", manifest(okOpt, `{"name":"x",`+
			`"description":"d"}`, ""), "usage"},
		{"method without description", manifest(okOpt, `{"name":`+
			`"x","usage":"[a]"}`, ""), "description"},
		{"method name not a string", manifest(okOpt, `{"name":5,`+
			`"usage":"[a]","description":"d"}`, ""), "rpcmethods"},
		{"empty usage", manifest(okOpt, `{"name":`+
			`"x","usage":"","description":"d"}`, ""), "usage"},
		{"builtin command", manifest(okOpt, `{"name":"getinfo",`+
			`"usage":"x","description":"d"}`, ""),
			"already registered"},
		{"duplicate method", manifest(okOpt, okMethod+","+okMethod, ""),
			"declared twice"},
		{"unknown topic", manifest(okOpt, okMethod,
			`,"subscriptions":["connected"]`), "not a known"},
		{"subscriptions not strings", manifest(okOpt, okMethod,
			`,"subscriptions":[1]`), "subscriptions"},
		{"dynamic not a bool", manifest(okOpt, okMethod,
			`,"dynamic":"yes"`), "not a bool"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ValidateManifest(json.RawMessage(tc.raw),
				"chanfitness-")
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.True(t, m.Subscribed("shutdown"))
			o, ok := m.Option("chanfitness-x")
			require.True(t, ok)
			require.Equal(t, "3", string(o.Default))
			_, ok = m.Method("chanfitness")
			require.True(t, ok)
		})
	}
}

func TestCLIParams(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr string
	}{
		{"none", nil, `[]`, ""},
		{"strings", []string{"abc", "7d"}, `["abc","7d"]`, ""},
		{"raw values", []string{"123", "true", "null", `{"a":1}`,
			"[1]", `"q"`}, `[123,true,null,{"a":1},[1],"q"]`, ""},
		{"not bare digits", []string{"12h", "-1", "0x1"},
			`["12h","-1","0x1"]`, ""},
		{"keywords", []string{"-k", "peer_id=ab", "window=7d"},
			`{"peer_id":"ab","window":"7d"}`, ""},
		{"key=value without -k", []string{"window=30"},
			`{"window":30}`, ""},
		{"key=value after a positional stays positional",
			[]string{"02ab", "window=7d"}, `["02ab","window=7d"]`,
			""},
		{"digits and dots", []string{"1.5", "0.25h"},
			`[1.5,"0.25h"]`, ""},
		{"empty", []string{""}, `[""]`, ""},
		{"keywords need key=value", []string{"window=7d", "02ab"}, "",
			"Expected key=value in '02ab'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params, err := CLIParams(tc.args...)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			b, err := json.Marshal(params)
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(b))
		})
	}
}

func TestPayloadShapes(t *testing.T) {
	peer := PeerID(1)
	enc := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return string(b)
	}
	require.JSONEq(t, `{"id":"`+peer+`","disconnect":{"id":"`+peer+`"}}`,
		enc(V24_08.DisconnectParams(peer)))
	require.JSONEq(t, `{"disconnect":{"id":"`+peer+`"}}`,
		enc(V24_11.DisconnectParams(peer)))
	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		return out
	}
	require.ElementsMatch(t, []string{"connect", "id", "direction",
		"address"}, keys(V24_08.ConnectParams(peer, "in")))
	require.ElementsMatch(t, []string{"connect"},
		keys(V25_12.ConnectParams(peer, "in")))

	sc := StateChange{Peer: peer, ChannelID: "c", NewState: "X"}
	v24 := enc(V24_11.StateChangedParams(sc))
	require.Contains(t, v24, `"old_state":"unknown"`)
	require.Contains(t, v24, `"short_channel_id":null`)
	require.Contains(t, v24, `"message":null`)
	v25 := enc(V25_12.StateChangedParams(sc))
	for _, k := range []string{"old_state", "short_channel_id",
		"message"} {

		require.NotContains(t, v25, k)
	}
}

// fakePlugin answers getmanifest with a valid manifest, then writes what
// the test gives it.
func fakePlugin(t *testing.T, then string) (io.WriteCloser, io.Reader,
	chan error) {

	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		dec := json.NewDecoder(inR)
		var req struct {
			ID json.RawMessage `json:"id"`
		}
		if err := dec.Decode(&req); err != nil {
			done <- err
			return
		}
		_, _ = io.WriteString(outW, `{"jsonrpc":"2.0","id":`+
			string(req.ID)+`,"result":{"options":[],"rpcmethods":`+
			`[],"subscriptions":["shutdown"]}}`+"\n\n")
		_, _ = io.WriteString(outW, then)
		// Wait to be stopped.
		_, _ = io.Copy(io.Discard, inR)
		outW.Close()
		done <- errors.New("stopped")
	}()
	return inW, outR, done
}

// TestViolations checks that the emulator, like lightningd, kills a
// plugin that writes anything but JSON-RPC objects or an unknown log
// level, or answers a request that was never sent.
func TestViolations(t *testing.T) {
	tests := []struct {
		name, output, want string
	}{
		{"text", "ERR\nsomething\n", "not JSON"},
		{"array", "[1]\n\n", "not a valid JSON object"},
		{"no jsonrpc", `{"method":"log","params":{}}`, "jsonrpc"},
		{"bad level", `{"jsonrpc":"2.0","method":"log","params":` +
			`{"level":"None","message":"x"}}`, "Unknown log-level"},
		{"io level", `{"jsonrpc":"2.0","method":"log","params":` +
			`{"level":"io","message":"x"}}`, "Unknown log-level"},
		{"log without message", `{"jsonrpc":"2.0","method":"log",` +
			`"params":{"level":"info"}}`, "message"},
		{"unknown id", `{"jsonrpc":"2.0","id":"nope","result":{}}`,
			"non-existent request"},
		{"undeclared notification", `{"jsonrpc":"2.0","method":` +
			`"custom","params":{}}`, "did not declare"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := New(t, Options{ExpectViolations: true})
			in, out, done := fakePlugin(t, tc.output)
			n.Attach(in, out, done)
			n.Wait(time.Minute)
			v := n.Violations()
			require.Len(t, v, 1)
			require.Contains(t, v[0], tc.want)
		})
	}
}

// TestValidLog accepts every level lightningd knows.
func TestValidLog(t *testing.T) {
	var out strings.Builder
	for l := range validLevels {
		out.WriteString(`{"jsonrpc":"2.0","method":"log","params":` +
			`{"level":"` + l + `","message":"m ` + l + `"}}` + "\n\n")
	}
	n := New(t, Options{})
	in, o, done := fakePlugin(t, out.String())
	n.Attach(in, o, done)
	// The lines arrive in map order: wait for every one of them.
	for l := range validLevels {
		n.WaitLog("m "+l, time.Minute)
	}
	require.Empty(t, n.Violations())
	require.Len(t, n.Logs(), len(validLevels))
}

// TestInitOptionValue checks that init carries option values in the JSON
// types lightningd gives them, and refuses values lightningd would
// never send (it rejects such a config line before any plugin starts).
func TestInitOptionValue(t *testing.T) {
	opt := func(typ string) ManifestOption {
		return ManifestOption{Name: "chanfitness-x", Type: typ}
	}
	tests := []struct {
		name    string
		typ     string
		value   any
		want    string
		wantErr string
	}{
		{"int", "int", 60, `60`, ""},
		{"int64", "int", int64(-5), `-5`, ""},
		{"whole float", "int", 7.0, `7`, ""},
		{"int as a string", "int", "60", "", "not an integer"},
		{"fraction", "int", 1.5, "", "not an integer"},
		{"string", "string", "badger", `"badger"`, ""},
		{"string as a number", "string", 5, "", "not a string"},
		{"bool", "bool", false, `false`, ""},
		{"bool as a string", "bool", "true", "", "not a bool"},
		{"flag set", "flag", true, `true`, ""},
		{"flag as false", "flag", false, "", "set or left out"},
		{"raw", "int", json.RawMessage(`"60"`), `"60"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := initOptionValue(opt(tc.typ), tc.value)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorContains(t, err, "chanfitness-x")
				return
			}
			require.NoError(t, err)
			b, err := json.Marshal(v)
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(b))
		})
	}
}

// TestListNetworkEvents checks the emulated listnetworkevents: connects
// and disconnects recorded in order with created indexes, filtering by
// peer, start and limit, bad parameters refused, and the command unknown
// on a node older than v25.12.
func TestListNetworkEvents(t *testing.T) {
	a, b := PeerID(1), PeerID(2)
	call := func(n *Node, params string) ([]NetworkEvent, *RPCError) {
		s := &rpcServer{st: n.st}
		res, rerr := s.handle(&rpcReq{JSONRPC: "2.0",
			ID: json.RawMessage(`1`), Method: "listnetworkevents",
			Params: json.RawMessage(params)})
		if rerr != nil {
			return nil, rerr
		}
		b, err := json.Marshal(res)
		require.NoError(t, err)
		var out struct {
			Events []NetworkEvent `json:"networkevents"`
		}
		require.NoError(t, json.Unmarshal(b, &out))
		return out.Events, nil
	}

	n := New(t, Options{Payload: V25_12})
	n.st.peers[a] = &Peer{ID: a}
	n.RecordNetworkEvent(NetworkEvent{PeerID: a, Type: NetConnect,
		Timestamp: 1000})
	ping := uint64(2_500_000)
	n.RecordNetworkEvent(NetworkEvent{PeerID: a, Type: NetPing,
		Timestamp: 1001, DurationNsec: &ping})
	n.RecordNetworkEvent(NetworkEvent{PeerID: b, Type: NetConnectFail,
		Timestamp: 1002, Reason: "Connection refused"})
	n.RecordNetworkEvent(NetworkEvent{PeerID: a, Type: NetDisconnect,
		Timestamp: 1003})

	all, rerr := call(n, `{}`)
	require.Nil(t, rerr)
	require.Len(t, all, 4)
	for i, e := range all {
		require.Equal(t, uint64(i+1), e.CreatedIndex)
	}
	require.Equal(t, ping, *all[1].DurationNsec)

	onlyA, rerr := call(n, `["`+a+`"]`)
	require.Nil(t, rerr)
	require.Len(t, onlyA, 3)

	page, rerr := call(n, `{"index":"created","start":2,"limit":2}`)
	require.Nil(t, rerr)
	require.Equal(t, []uint64{2, 3}, []uint64{page[0].CreatedIndex,
		page[1].CreatedIndex})

	for _, bad := range []string{`["x"]`, `{"index":"updated"}`,
		`{"start":1}`, `[null,null,null,null,null]`} {
		_, rerr := call(n, bad)
		require.NotNil(t, rerr, bad)
	}

	old := New(t, Options{Payload: V24_11})
	_, rerr = call(old, `{}`)
	require.NotNil(t, rerr)
	require.Equal(t, -32601, rerr.Code)
}
