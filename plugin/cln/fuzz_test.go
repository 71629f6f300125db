package cln

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

// maxErrLen bounds an error about untrusted input: errors quote only a
// short prefix of what they refuse.
const maxErrLen = 1000

// FuzzReadMessages feeds the frame reader arbitrary streams. It must
// never fail on a stream that reads without error, every frame that is
// not blank must come out as a message or a report of a bad one, a
// message must have a method, and a bad message's id, when found, must
// be valid JSON that can be echoed in a reply.
func FuzzReadMessages(f *testing.F) {
	seeds := []string{
		`{"jsonrpc":"2.0","method":"connect","params":{"connect":` +
			`{"id":"` + peerA + `"}}}` + "\n\n",
		`{"jsonrpc":"2.0","id":"cli:chanfitness#1/cln:chanfitness#2",` +
			`"method":"chanfitness","params":["` + peerA +
			`","7d"]}` + "\n\n",
		`{"jsonrpc":"2.0","id":"x","method":"m","params":` +
			strings.Repeat("[", 10001) + "\n\n",
		`{"jsonrpc":"2.0","id":5,"method":"m"}{"x":1}` + "\n\n\n",
		"\r\n\r\n{}\n\n[1]\n\nnull\n\n\"\\\"\"",
		`{"id":"a\"}","method":"m","params":[}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		frames := 0
		for _, fr := range bytes.Split(data, frameEnd) {
			if len(bytes.TrimSpace(fr)) > 0 {
				frames++
			}
		}
		out := 0
		err := readMessages(bytes.NewReader(data), time.Now,
			func(m inbound) {
				out++
				require.NotEmpty(t, m.env.Method)
			}, func(m badMessage) {
				out++
				require.Error(t, m.Err)
				require.Less(t, len(m.Err.Error()), maxErrLen)
				if m.ID != nil {
					require.True(t, json.Valid(m.ID))
					require.NotEmpty(t, m.Method)
				}
			})
		require.NoError(t, err)
		require.GreaterOrEqual(t, out, frames)
	})
}

// FuzzRequestOf checks that a request whose params the decoder refuses
// is still found with its id and method, whatever the params hold.
func FuzzRequestOf(f *testing.F) {
	for _, s := range []string{`[]`, strings.Repeat("[", 10001),
		`{"a":"}"`, `"\"`, `]]]]`, `1e999999`} {

		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, params string) {
		msg := `{"jsonrpc":"2.0","id":"cli:x#1","method":"chanfitness",` +
			`"params":` + params + `}`
		id, method := requestOf([]byte(msg))
		require.Equal(t, `"cli:x#1"`, string(id))
		require.Equal(t, "chanfitness", method)
	})
}

// FuzzNotifications feeds every notification parser arbitrary params:
// no panic, errors that quote only a prefix, and what parses is valid.
func FuzzNotifications(f *testing.F) {
	id := `"` + peerA + `"`
	cid := `"` + strings.Repeat("ab", 32) + `"`
	for _, s := range []string{
		`{"connect":{"id":` + id + `,"direction":"in"}}`,
		`{"id":` + id + `}`,
		`{"disconnect":null,"id":` + id + `}`,
		`{"channel_opened":{"id":` + id + `,"funding_msat":1,` +
			`"funding_txid":"` + strings.Repeat("cd", 32) + `"}}`,
		`{"channel_state_changed":{"peer_id":` + id + `,"channel_id":` +
			cid + `,"short_channel_id":"1x2x3","old_state":"unknown",` +
			`"new_state":"CHANNELD_NORMAL","cause":"user"}}`,
		`{"channel_state_changed":{"peer_id":` + id + `,"channel_id":` +
			cid + `,"new_state":5}}`,
		`[]`, `null`, `{"connect":[]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, params string) {
		raw := json.RawMessage(params)
		check := func(err error) bool {
			if err != nil {
				require.ErrorIs(t, err, errMalformed)
				require.Less(t, len(err.Error()), maxErrLen)
				return false
			}
			return true
		}
		for _, topic := range []string{topicConnect, topicDisconnect} {
			p, err := parsePeerNotification(topic, raw)
			if check(err) {
				_, err := core.ParsePeerID(p.String())
				require.NoError(t, err)
			}
		}
		co, err := parseChannelOpened(raw)
		if check(err) {
			require.False(t, co.Peer.IsZero())
		}
		sc, err := parseStateChange(raw)
		if check(err) {
			require.Len(t, sc.ChannelID, 64)
			require.NotEmpty(t, sc.NewState)
		}
	})
}

// FuzzReportArgs feeds the chanfitness parameter parser arbitrary
// params: no panic, errors that quote only a prefix, and what parses
// parses again to the same arguments.
func FuzzReportArgs(f *testing.F) {
	for _, s := range []string{``, `null`, `[]`, `{}`,
		`["` + peerA + `","7d"]`, `{"peer_id":null,"window":"90m"}`,
		`[null,30]`, `{"x":1,"y":2,"z":3,"w":4}`, `[[[]]]`,
		`["` + peerA + `","` + strings.Repeat("1h", 60) + `"]`} {

		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, params string) {
		args, err := parseReportArgs(json.RawMessage(params))
		if err != nil {
			require.Less(t, len(err.Error()), maxErrLen)
			return
		}
		w, err := core.ParseWindow(args.Window)
		require.NoError(t, err)
		require.Equal(t, args.Window, w.Name)
		peer := ""
		if args.Peer != nil {
			peer = args.Peer.String()
		}
		again, err := json.Marshal([]string{peer, args.Window})
		require.NoError(t, err)
		args2, err := parseReportArgs(again)
		require.NoError(t, err)
		require.Equal(t, args, args2)
	})
}
