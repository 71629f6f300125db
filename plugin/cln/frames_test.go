package cln

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReadMessages(t *testing.T) {
	const (
		connect = `{"jsonrpc":"2.0","method":"connect","params":{}}`
		call    = `{"jsonrpc":"2.0","id":"cli:x#1","method":"chanfitness",` +
			`"params":[]}`
	)
	tests := []struct {
		name    string
		input   string
		methods []string
		bad     []string
	}{
		{"framed", connect + "\n\n" + call + "\n\n",
			[]string{"connect", "chanfitness"}, nil},
		{"extra blank lines", "\n\n" + connect + "\n\n\n\n" + call +
			"\n\n\n", []string{"connect", "chanfitness"}, nil},
		{"two objects in one frame", connect + "\n" + call + "\n\n",
			[]string{"connect", "chanfitness"}, nil},
		{"spaces and tabs", " \t" + connect + " \n\n\t" + call + "\n\n",
			[]string{"connect", "chanfitness"}, nil},
		{"crlf", connect + "\r\n\r\n" + call + "\r\n\r\n",
			[]string{"connect", "chanfitness"}, nil},
		{"last frame without end", connect + "\n\n" + call,
			[]string{"connect", "chanfitness"}, nil},
		{"truncated then good", `{"jsonrpc":"2.0","method":"conn` +
			"\n\n" + connect + "\n\n", []string{"connect"},
			[]string{"malformed message"}},
		{"garbage then good", "hello\n\n" + connect + "\n\n",
			[]string{"connect"}, []string{"invalid character"}},
		{"array", "[1,2]\n\n" + connect + "\n\n", []string{"connect"},
			[]string{"not a JSON object"}},
		{"no method", `{"jsonrpc":"2.0","id":"1"}` + "\n\n" + connect +
			"\n\n", []string{"connect"}, []string{"no method"}},
		{"wrong member type", `{"jsonrpc":"2.0","method":5}` + "\n\n",
			nil, []string{"malformed message"}},
		{"empty", "", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var bad []string
			tick := time.Unix(0, 0)
			now := func() time.Time {
				tick = tick.Add(time.Second)
				return tick
			}
			var stamps []time.Time
			// One byte per read: framing must not depend on how
			// the pipe splits the stream.
			r := iotest.OneByteReader(strings.NewReader(tc.input))
			err := readMessages(r, now, func(m inbound) {
				got = append(got, m.env.Method)
				stamps = append(stamps, m.at)
			}, func(err error) {
				bad = append(bad, err.Error())
			})
			require.NoError(t, err)
			require.Equal(t, tc.methods, got)
			require.Len(t, bad, len(tc.bad))
			for i, b := range tc.bad {
				require.Contains(t, bad[i], b)
			}
			for i := 1; i < len(stamps); i++ {
				require.False(t, stamps[i].Before(stamps[i-1]))
			}
		})
	}
}

func TestReadMessagesRequest(t *testing.T) {
	in := `{"jsonrpc":"2.0","id":"a\"b","method":"init","params":{"x":1}}` +
		"\n\n" + `{"jsonrpc":"2.0","id":null,"method":"connect"}` + "\n\n"
	var got []inbound
	err := readMessages(strings.NewReader(in), time.Now,
		func(m inbound) { got = append(got, m) },
		func(err error) { t.Fatal(err) })
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.True(t, got[0].env.isRequest())
	require.Equal(t, `"a\"b"`, string(got[0].env.ID))
	require.Equal(t, `{"x":1}`, string(got[0].env.Params))
	require.False(t, got[1].env.isRequest(), "null id: a notification")
}

func TestReadMessagesTooLarge(t *testing.T) {
	big := bytes.Repeat([]byte("x"), maxFrame+1)
	err := readMessages(bytes.NewReader(big), time.Now,
		func(inbound) {}, func(error) {})
	require.ErrorContains(t, err, "read from lightningd")
}
