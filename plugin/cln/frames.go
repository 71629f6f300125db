package cln

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// maxFrame bounds one message from lightningd. Its notifications and
// requests are a few hundred bytes; the bound only stops a runaway
// stream from eating memory.
const maxFrame = 16 << 20

// envelope is a JSON-RPC message from lightningd: a request when ID is
// set, a notification otherwise.
type envelope struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// isRequest reports whether the message expects a response.
func (e *envelope) isRequest() bool {
	return len(e.ID) > 0 && !bytes.Equal(e.ID, []byte("null"))
}

// inbound is one message from lightningd, stamped when it was read.
type inbound struct {
	at  time.Time
	env envelope
}

// splitFrames is a bufio.SplitFunc for lightningd's framing: compact JSON
// objects, each followed by "\n\n". A JSON text never holds a blank line,
// so a frame is whatever lies between two of them; what a frame holds is
// decoded by readMessages, which tolerates any whitespace.
func splitFrames(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.Index(data, frameEnd); i >= 0 {
		return i + len(frameEnd), data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// readMessages reads r until EOF, stamps every message with now() as it
// is read, and passes it to handle in stream order. A frame that does not
// hold JSON objects is reported to bad with the reason and skipped, so one
// malformed message cannot desynchronize the stream. It returns nil at EOF.
func readMessages(r io.Reader, now func() time.Time,
	handle func(inbound), bad func(error)) error {

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxFrame)
	sc.Split(splitFrames)
	for sc.Scan() {
		at := now()
		frame := sc.Bytes()
		if len(bytes.TrimSpace(frame)) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(frame))
		for {
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				bad(fmt.Errorf("malformed message %s: %w",
					excerpt(frame), err))
				break
			}
			env, err := parseEnvelope(raw)
			if err != nil {
				bad(err)
				continue
			}
			handle(inbound{at: at, env: env})
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read from lightningd: %w", err)
	}
	return nil
}

// parseEnvelope decodes one JSON value as a JSON-RPC message.
func parseEnvelope(raw json.RawMessage) (envelope, error) {
	var env envelope
	if len(raw) == 0 || raw[0] != '{' {
		return env, fmt.Errorf("malformed message %s: not a JSON "+
			"object", excerpt(raw))
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return env, fmt.Errorf("malformed message %s: %w",
			excerpt(raw), err)
	}
	if env.Method == "" {
		return env, fmt.Errorf("malformed message %s: no method",
			excerpt(raw))
	}
	// json.RawMessage fields hold copies: the message may outlive the
	// scanner's buffer.
	return env, nil
}

// excerptLen bounds what an error message quotes of its input.
const excerptLen = 120

// excerpt quotes the start of raw input for an error message.
func excerpt(b []byte) string {
	if len(b) > excerptLen {
		return fmt.Sprintf("%q...", b[:excerptLen])
	}
	return fmt.Sprintf("%q", b)
}

// jsonText returns the start of a decoded JSON value for an error
// message, as it was written: 5 for a number, "x" for a string.
func jsonText(v []byte) string {
	if len(v) > excerptLen {
		return string(v[:excerptLen]) + "..."
	}
	return string(v)
}
