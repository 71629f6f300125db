package cln

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// maxFrame bounds one message from lightningd. Its notifications and
// requests are a few hundred bytes; the bound only stops a runaway
// stream from eating memory. A longer message is skipped, not fatal.
const maxFrame = 16 << 20

// keptPrefix is how much of a message over maxFrame is kept to find its
// request id, so that the request can be answered with an error.
// lightningd writes "id" and "method" before "params".
const keptPrefix = 64 << 10

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

// badMessage is a message that cannot be used. When it is a request
// whose id could still be found, ID holds that id (as sent) and the
// request must be answered with an error; otherwise ID is nil.
type badMessage struct {
	ID     json.RawMessage
	Method string
	Err    error
}

// readMessages reads r until EOF, stamps every message with now() as it
// is read, and passes it to handle in stream order. lightningd frames
// compact JSON objects each followed by "\n\n"; a JSON text never holds a
// blank line, so a frame is whatever lies between two of them, and what a
// frame holds is decoded tolerating any whitespace. A frame that does not
// hold JSON objects, or is longer than maxFrame, is reported to bad and
// skipped, so that one malformed message can neither desynchronize the
// stream nor end it. It returns nil at EOF and an error naming the cause
// when reading fails.
func readMessages(r io.Reader, now func() time.Time,
	handle func(inbound), bad func(badMessage)) error {

	br := bufio.NewReaderSize(r, 64<<10)
	var frame []byte
	var size int64 // bytes of the current frame, kept or not
	oversize := false
	prevNL := false
	for {
		chunk, err := br.ReadSlice('\n')
		end := prevNL && len(chunk) == 1 && chunk[0] == '\n'
		if !end && len(chunk) > 0 {
			size += int64(len(chunk))
			switch {
			case oversize:
			case size > maxFrame:
				oversize = true
				frame = frame[:min(len(frame), keptPrefix)]
			default:
				frame = append(frame, chunk...)
			}
			prevNL = chunk[len(chunk)-1] == '\n'
		}
		if end || (err != nil && !errors.Is(err, bufio.ErrBufferFull)) {
			if oversize {
				id, method := requestOf(frame)
				bad(badMessage{ID: id, Method: method,
					Err: fmt.Errorf("message of %d bytes "+
						"skipped: over the %d MiB limit "+
						"(starts %s)", size, maxFrame>>20,
						excerpt(frame))})
			} else {
				decodeFrame(frame, now(), handle, bad)
			}
			if cap(frame) > keptPrefix {
				frame = nil
			}
			frame, size, oversize, prevNL = frame[:0], 0, false, false
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return fmt.Errorf("read from lightningd: %w", err)
		}
	}
}

// decodeFrame decodes the messages of one frame, stamped at.
func decodeFrame(frame []byte, at time.Time, handle func(inbound),
	bad func(badMessage)) {

	if len(bytes.TrimSpace(frame)) == 0 {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(frame))
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			// The rest of the frame cannot be split into values;
			// its first one may still be a request to answer.
			rest := frame[dec.InputOffset():]
			id, method := requestOf(rest)
			bad(badMessage{ID: id, Method: method,
				Err: fmt.Errorf("malformed message %s: %w",
					excerpt(rest), err)})
			return
		}
		env, err := parseEnvelope(raw)
		if err != nil {
			id, method := requestOf(raw)
			bad(badMessage{ID: id, Method: method, Err: err})
			continue
		}
		handle(inbound{at: at, env: env})
	}
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

// jsonText returns a JSON value for an error message, as it was written
// (5 for a number, "x" for a string), cut as core.Quote cuts text: whole
// up to the length of an identifier, else its first bytes and its length.
func jsonText(v []byte) string {
	if len(v) > jsonTextMax {
		n := jsonTextCut
		for n > 0 && !utf8.RuneStart(v[n]) {
			n--
		}
		return fmt.Sprintf("%s…(%d bytes)", v[:n], len(v))
	}
	return string(v)
}

// jsonTextMax and jsonTextCut are core.Quote's bounds.
const (
	jsonTextMax = 72
	jsonTextCut = 16
)

// requestOf finds the top-level "id" and "method" members of a message
// that cannot be decoded whole (nested too deep, cut short, over the size
// limit), so that a request can still be answered. It returns a nil id
// unless the message is a request: a string or number id, not null, and a
// string method. It walks the text once and keeps no stack, so no depth
// or length can make it fail.
func requestOf(msg []byte) (json.RawMessage, string) {
	var id json.RawMessage
	method := ""
	s := memberScanner{b: msg}
	s.space()
	if !s.byte('{') {
		return nil, ""
	}
	for {
		s.space()
		key, ok := s.value()
		if !ok || len(key) == 0 || key[0] != '"' {
			break
		}
		s.space()
		if !s.byte(':') {
			break
		}
		s.space()
		val, ok := s.value()
		if !ok {
			break
		}
		switch string(key) {
		case `"id"`:
			id = val
		case `"method"`:
			_ = json.Unmarshal(val, &method)
		}
		s.space()
		if !s.byte(',') {
			break
		}
	}
	if method == "" || len(id) == 0 || !json.Valid(id) ||
		(id[0] != '"' && id[0] != '-' && (id[0] < '0' || id[0] > '9')) {

		return nil, method
	}
	return append(json.RawMessage(nil), id...), method
}

// memberScanner walks JSON text without decoding it.
type memberScanner struct {
	b []byte
	i int
}

func (s *memberScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *memberScanner) byte(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// value skips one value and returns its text; ok is false when the text
// ends before the value does. Brackets are counted, not matched: the
// decoder has already said the message is malformed, and this only looks
// for the members before the damage.
func (s *memberScanner) value() ([]byte, bool) {
	start := s.i
	depth := 0
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			if !s.skipString() {
				return nil, false
			}
		case c == '{' || c == '[':
			depth++
			s.i++
		case c == '}' || c == ']':
			if depth == 0 {
				return s.b[start:s.i], s.i > start
			}
			depth--
			s.i++
		case c == ',' || c == ':' || c == ' ' || c == '\t' ||
			c == '\r' || c == '\n':

			if depth == 0 {
				return s.b[start:s.i], s.i > start
			}
			s.i++
		default:
			s.i++
		}
		if depth == 0 && s.i > start && (c == '"' || c == '}' ||
			c == ']') {

			return s.b[start:s.i], true
		}
	}
	return nil, false
}

// skipString moves past the string that starts at s.i.
func (s *memberScanner) skipString() bool {
	for s.i++; s.i < len(s.b); s.i++ {
		switch s.b[s.i] {
		case '\\':
			s.i++
		case '"':
			s.i++
			return true
		}
	}
	return false
}
