package cln

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// decodeAll decodes every JSON value in b, failing on anything else.
func decodeAll(t *testing.T, b []byte) []map[string]json.RawMessage {
	t.Helper()
	require.True(t, bytes.HasSuffix(b, frameEnd) || len(b) == 0)
	dec := json.NewDecoder(bytes.NewReader(b))
	var out []map[string]json.RawMessage
	for {
		var m map[string]json.RawMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		require.Equal(t, `"2.0"`, string(m["jsonrpc"]))
		out = append(out, m)
	}
}

func TestProtoWriterConcurrent(t *testing.T) {
	var buf bytes.Buffer
	w := newProtoWriter(&buf)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				w.log(levelDebug, strings.Repeat("x", i*50))
				_ = w.respond(json.RawMessage(`"id"`),
					json.RawMessage(`{"a":[1,2,3]}`))
			}
		}()
	}
	wg.Wait()
	msgs := decodeAll(t, buf.Bytes())
	require.Len(t, msgs, 8*100*2)
	require.Equal(t, 8*100*2, bytes.Count(buf.Bytes(), frameEnd))
}

func TestProtoWriterMessages(t *testing.T) {
	var buf bytes.Buffer
	w := newProtoWriter(&buf)
	require.NoError(t, w.respond(json.RawMessage(`"a\"b"`),
		json.RawMessage(`{"x":1}`)))
	require.NoError(t, w.fail(json.RawMessage(`7`), codeInvalidParams,
		`window "3x": bad`))
	w.log("none", "level replaced")
	w.log(levelUnusual, "multi\nline")
	msgs := decodeAll(t, buf.Bytes())
	require.Len(t, msgs, 4)
	require.Equal(t, `"a\"b"`, string(msgs[0]["id"]))
	require.JSONEq(t, `{"x":1}`, string(msgs[0]["result"]))
	require.Equal(t, `7`, string(msgs[1]["id"]))
	require.JSONEq(t, `{"code":-32602,"message":"window \"3x\": bad"}`,
		string(msgs[1]["error"]))
	require.JSONEq(t, `{"level":"info","message":"level replaced"}`,
		string(msgs[2]["params"]))
	require.JSONEq(t, `{"level":"unusual","message":"multi\nline"}`,
		string(msgs[3]["params"]))
}

type failWriter struct{ n int }

func (f *failWriter) Write(b []byte) (int, error) {
	f.n++
	return 0, errors.New("broken pipe")
}

func TestProtoWriterStopsAfterError(t *testing.T) {
	fw := &failWriter{}
	w := newProtoWriter(fw)
	require.ErrorContains(t, w.respond(json.RawMessage(`1`),
		json.RawMessage(`{}`)), "broken pipe")
	require.Error(t, w.respond(json.RawMessage(`1`), json.RawMessage(`{}`)))
	w.log(levelInfo, "dropped")
	require.Equal(t, 1, fw.n)
}

func TestLoggers(t *testing.T) {
	var buf bytes.Buffer
	w := newProtoWriter(&buf)
	l := pluginLogger{out: w}
	l.Debugf("d %d", 1)
	l.Infof("i %d", 2)
	l.Warnf("w %d", 3)
	l.Errorf("e %d", 4)
	std := lineLogger{out: w, level: levelUnusual}
	_, err := fmt.Fprint(std, "one\ntwo\n\n")
	require.NoError(t, err)

	want := []string{
		`{"level":"debug","message":"d 1"}`,
		`{"level":"info","message":"i 2"}`,
		`{"level":"unusual","message":"w 3"}`,
		`{"level":"broken","message":"e 4"}`,
		`{"level":"unusual","message":"one"}`,
		`{"level":"unusual","message":"two"}`,
	}
	msgs := decodeAll(t, buf.Bytes())
	require.Len(t, msgs, len(want))
	for i, m := range msgs {
		require.Equal(t, `"log"`, string(m["method"]))
		require.JSONEq(t, want[i], string(m["params"]))
		var p logParams
		require.NoError(t, json.Unmarshal(m["params"], &p))
		require.True(t, validLevel(p.Level))
	}
}
