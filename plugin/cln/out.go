package cln

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Log levels lightningd accepts in a plugin's "log" notification. Any
// other level gets the plugin killed.
const (
	levelTrace   = "trace"
	levelDebug   = "debug"
	levelInfo    = "info"
	levelUnusual = "unusual"
	levelWarn    = "warn"
	levelError   = "error"
	levelBroken  = "broken"
)

// validLevel reports whether lightningd accepts level in a log
// notification.
func validLevel(level string) bool {
	switch level {
	case levelTrace, levelDebug, levelInfo, levelUnusual, levelWarn,
		levelError, levelBroken:

		return true
	}
	return false
}

// frameEnd ends every message on the plugin's stdout, as lightningd's own
// messages end.
var frameEnd = []byte("\n\n")

// protoWriter is the only writer of the plugin's stdout. Every call emits
// one complete JSON-RPC object followed by "\n\n" under one lock, so that
// messages from different goroutines never interleave. After the first
// write error (lightningd went away) it drops everything silently: there
// is nobody left to tell.
type protoWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf bytes.Buffer
	err error
}

func newProtoWriter(w io.Writer) *protoWriter {
	return &protoWriter{w: w}
}

// emit writes the parts, which must concatenate to one JSON object with a
// "jsonrpc" member, followed by the frame end.
func (p *protoWriter) emit(parts ...[]byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.buf.Reset()
	for _, b := range parts {
		p.buf.Write(b)
	}
	p.buf.Write(frameEnd)
	if _, err := p.w.Write(p.buf.Bytes()); err != nil {
		p.err = fmt.Errorf("write to lightningd: %w", err)
	}
	if p.buf.Cap() > 1<<20 {
		// Do not keep a large report's buffer around.
		p.buf = bytes.Buffer{}
	}
	return p.err
}

// respond sends a successful response. id and result must be valid JSON
// (they come out of a decoder or json.Marshal).
func (p *protoWriter) respond(id, result json.RawMessage) error {
	return p.emit([]byte(`{"jsonrpc":"2.0","id":`), id,
		[]byte(`,"result":`), result, []byte(`}`))
}

// respondError sends an error response; errObj must be a JSON object
// with "code" and "message".
func (p *protoWriter) respondError(id, errObj json.RawMessage) error {
	return p.emit([]byte(`{"jsonrpc":"2.0","id":`), id,
		[]byte(`,"error":`), errObj, []byte(`}`))
}

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// JSON-RPC error codes the plugin answers with itself.
const (
	codeInvalidRequest = -32600
	codeInvalidParams  = -32602
	codeInternal       = -32603
)

// fail sends an error response with the given code and message.
func (p *protoWriter) fail(id json.RawMessage, code int, msg string) error {
	b, err := json.Marshal(rpcError{Code: code, Message: msg})
	if err != nil {
		return err
	}
	return p.respondError(id, b)
}

// notify sends a notification (no id).
func (p *protoWriter) notify(method string, params any) error {
	m, err := json.Marshal(method)
	if err != nil {
		return err
	}
	b, err := json.Marshal(params)
	if err != nil {
		return err
	}
	return p.emit([]byte(`{"jsonrpc":"2.0","method":`), m,
		[]byte(`,"params":`), b, []byte(`}`))
}

// logParams are the params of a "log" notification.
type logParams struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

// log sends a "log" notification. A level lightningd would reject is
// replaced by "info" rather than getting the plugin killed.
func (p *protoWriter) log(level, msg string) {
	if !validLevel(level) {
		level = levelInfo
	}
	// A failed write means lightningd is gone; nothing to do.
	_ = p.notify("log", logParams{Level: level, Message: msg})
}

// pluginLogger implements core.Logger by sending lightningd "log"
// notifications, prefixed so the node log names the subsystem.
type pluginLogger struct {
	out *protoWriter
}

// Debugf logs at debug level (peer flaps and other normal life).
func (l pluginLogger) Debugf(format string, args ...any) {
	l.out.log(levelDebug, fmt.Sprintf(format, args...))
}

// Infof logs at info level.
func (l pluginLogger) Infof(format string, args ...any) {
	l.out.log(levelInfo, fmt.Sprintf(format, args...))
}

// Warnf logs at lightningd's "unusual" level.
func (l pluginLogger) Warnf(format string, args ...any) {
	l.out.log(levelUnusual, fmt.Sprintf(format, args...))
}

// Errorf logs at lightningd's "broken" level, its name for "error".
func (l pluginLogger) Errorf(format string, args ...any) {
	l.out.log(levelBroken, fmt.Sprintf(format, args...))
}

// lineLogger is an io.Writer for Go's log package: every line written to
// it becomes a log notification at the given level. Libraries that log
// through the standard logger thus never reach stdout.
type lineLogger struct {
	out   *protoWriter
	level string
}

// Write implements io.Writer.
func (l lineLogger) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"),
		"\n") {

		if line != "" {
			l.out.log(l.level, line)
		}
	}
	return len(b), nil
}
