package cln

import (
	"bytes"
	"context"
	"errors"
	"io"
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
			}, func(m badMessage) {
				bad = append(bad, m.Err.Error())
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
		func(m badMessage) { t.Fatal(m.Err) })
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.True(t, got[0].env.isRequest())
	require.Equal(t, `"a\"b"`, string(got[0].env.ID))
	require.Equal(t, `{"x":1}`, string(got[0].env.Params))
	require.False(t, got[1].env.isRequest(), "null id: a notification")
}

// TestReadMessagesTooLarge sends a request over the size limit between
// two good messages: the reader skips it, reports its size and its id so
// that it can be answered, and goes on with the next message.
func TestReadMessagesTooLarge(t *testing.T) {
	connect := `{"jsonrpc":"2.0","method":"connect","params":{}}` + "\n\n"
	head := `{"jsonrpc":"2.0","id":"cli:chanfitness#1","method":` +
		`"chanfitness","params":["`
	pad := strings.Repeat("x", maxFrame)
	big := head + pad + `"]}` + "\n\n"
	tests := []struct {
		name   string
		input  string
		id     string
		method string
	}{
		{"request", connect + big + connect, `"cli:chanfitness#1"`,
			"chanfitness"},
		{"notification", connect + `{"jsonrpc":"2.0","method":"x",` +
			`"params":"` + pad + `"}` + "\n\n" + connect, "", "x"},
		{"no frame end", connect + connect + pad + "\n" + pad, "", ""},
		{"one newline at a time", connect + strings.Repeat("{\n",
			maxFrame) + "\n\n" + connect, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var bad []badMessage
			err := readMessages(strings.NewReader(tc.input), time.Now,
				func(m inbound) {
					got = append(got, m.env.Method)
				}, func(m badMessage) { bad = append(bad, m) })
			require.NoError(t, err)
			require.Equal(t, []string{"connect", "connect"}, got)
			require.Len(t, bad, 1)
			require.Equal(t, tc.id, string(bad[0].ID))
			require.Equal(t, tc.method, bad[0].Method)
			require.ErrorContains(t, bad[0].Err, "bytes skipped: "+
				"over the 16 MiB limit")
			require.Less(t, len(bad[0].Err.Error()), 400)
		})
	}
}

// TestReadMessagesReadError: a failing read ends the reader with an error
// naming the cause, after the messages before it.
func TestReadMessagesReadError(t *testing.T) {
	connect := `{"jsonrpc":"2.0","method":"connect","params":{}}` + "\n\n"
	r := io.MultiReader(strings.NewReader(connect),
		iotest.ErrReader(errors.New("disk on fire")))
	n := 0
	err := readMessages(r, time.Now, func(inbound) { n++ },
		func(m badMessage) { t.Fatal(m.Err) })
	require.ErrorContains(t, err, "read from lightningd: disk on fire")
	require.Equal(t, 1, n)
}

// TestReadMessagesDeep sends requests the decoder refuses (nested deeper
// than it allows, cut short, members of the wrong type): each is reported
// with its id and method, so that it can be answered; notifications and
// messages without a usable id are reported without one.
func TestReadMessagesDeep(t *testing.T) {
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	tests := []struct {
		name   string
		input  string
		id     string
		method string
	}{
		{"deep params", `{"jsonrpc":"2.0","id":"a#1","method":"chanfitness",` +
			`"params":` + deep + `}`, `"a#1"`, "chanfitness"},
		{"deep params first", `{"params":` + deep + `,"jsonrpc":"2.0",` +
			`"method":"chanfitness","id":7}`, "7", "chanfitness"},
		{"deep object", `{"jsonrpc":"2.0","id":"a\"}#2","method":"m",` +
			`"params":{"x":` + strings.Repeat(`{"a":`, 20000) + "1" +
			strings.Repeat("}", 20000) + `}}`, `"a\"}#2"`, "m"},
		{"cut short", `{"jsonrpc":"2.0","id":"a#3","method":"chanfitness",` +
			`"params":[`, `"a#3"`, "chanfitness"},
		{"method wrong type", `{"jsonrpc":"2.0","id":"a#4","method":5}`,
			"", ""},
		{"no method", `{"jsonrpc":"2.0","id":"a#5","params":` + deep + `}`,
			"", ""},
		{"null id", `{"jsonrpc":"2.0","id":null,"method":"m","params":` +
			deep + `}`, "", "m"},
		{"object id", `{"jsonrpc":"2.0","id":{"a":1},"method":"m",` +
			`"params":` + deep + `}`, "", "m"},
		{"deep id", `{"jsonrpc":"2.0","id":` + deep + `,"method":"m"}`,
			"", "m"},
		{"not an object", deep, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var bad []badMessage
			err := readMessages(strings.NewReader(tc.input+"\n\n"),
				time.Now, func(m inbound) {
					t.Fatalf("decoded %s", m.env.Method)
				}, func(m badMessage) { bad = append(bad, m) })
			require.NoError(t, err)
			require.Len(t, bad, 1)
			require.Equal(t, tc.id, string(bad[0].ID))
			require.Equal(t, tc.method, bad[0].Method)
		})
	}
}

// TestRunReadError: when reading from lightningd fails, Run returns the
// cause (the process then exits non-zero with it) instead of ending as
// though lightningd had closed the connection.
func TestRunReadError(t *testing.T) {
	in := io.MultiReader(strings.NewReader(
		`{"jsonrpc":"2.0","method":"connect","params":{}}`+"\n\n"),
		iotest.ErrReader(errors.New("disk on fire")))
	var out bytes.Buffer
	err := Run(context.Background(), Config{In: in, Out: &out})
	require.ErrorContains(t, err, "read from lightningd: disk on fire")

	err = Run(context.Background(), Config{In: strings.NewReader(""),
		Out: &out})
	require.NoError(t, err, "EOF is lightningd closing the connection")
}

// BenchmarkReadMessages measures the frame reader on lightningd's
// notifications, one at a time through a pipe-sized reader.
func BenchmarkReadMessages(b *testing.B) {
	frame := `{"jsonrpc":"2.0","method":"connect","params":{"connect":` +
		`{"id":"` + peerA + `","direction":"in","address":{"type":` +
		`"ipv4","address":"127.0.0.1","port":9735}}}}` + "\n\n"
	in := strings.Repeat(frame, 10000)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := readMessages(strings.NewReader(in), time.Now,
			func(inbound) { n++ }, func(m badMessage) {
				b.Fatal(m.Err)
			})
		if err != nil || n != 10000 {
			b.Fatalf("%d messages, %v", n, err)
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "msgs/s")
}
