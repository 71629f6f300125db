package cln

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"

	"github.com/chanfitness/chanfitness/core"
	"github.com/elementsproject/glightning/glightning"
)

// Methods lightningd calls on every plugin.
const (
	methodGetManifest = "getmanifest"
	methodInit        = "init"
)

// bridge connects glightning to lightningd through two pipes, so that
// the plugin's own reader sees every message first and its own writer
// emits every byte. On the way in each request gets an id of the bridge's
// making; on the way out the reply gets lightningd's id back, byte for
// byte (glightning re-encodes ids and would mangle one holding an escape,
// which gets a plugin killed for answering an unknown request). Replies
// are rewritten where glightning cannot say what lightningd must hear:
//
//   - getmanifest: glightning subscribes only to topics it knows and
//     cannot subscribe to channel_state_changed or shutdown; the bridge
//     puts the plugin's five topics in and declares string ids.
//   - init: glightning always answers "ok"; the bridge answers
//     {"disable": reason} when the plugin could not start, and turns an
//     error (an option of the wrong type) into a disable as well.
//
// Rewriting the manifest, rather than writing it by hand, keeps options
// and methods declared once: the same glightning registry that lists them
// parses their values in init, so the two cannot drift.
type bridge struct {
	toGL   *os.File
	fromGL *os.File
	out    *protoWriter
	log    core.Logger

	// disableReason returns why init failed ("" when it did not).
	disableReason func() string

	writeMu sync.Mutex

	mu      sync.Mutex
	seq     uint64
	pending map[string]pendingCall
}

// pendingCall is a request forwarded to glightning.
type pendingCall struct {
	id     json.RawMessage
	method string
}

// startBridge starts p on a pair of pipes and the goroutine that relays
// its replies. glightning never closes its output, so the relay goroutine
// lives as long as the process.
func startBridge(p *glightning.Plugin, out *protoWriter, log core.Logger,
	disableReason func() string) (*bridge, error) {

	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe to glightning: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("pipe from glightning: %w", err)
	}
	b := &bridge{
		toGL:          inW,
		fromGL:        outR,
		out:           out,
		log:           log,
		disableReason: disableReason,
		pending:       make(map[string]pendingCall),
	}
	go func() {
		// Start returns when toGL is closed. glightning's writer
		// goroutine never ends; the process exit reaps it.
		if err := p.Start(inR, outW); err != nil {
			log.Warnf("glightning stopped: %v", err)
		}
	}()
	go b.relay()
	return b, nil
}

// forward hands a request to glightning. params may be nil.
func (b *bridge) forward(id json.RawMessage, method string,
	params json.RawMessage) error {

	b.mu.Lock()
	b.seq++
	gid := "gl#" + strconv.FormatUint(b.seq, 10)
	b.pending[gid] = pendingCall{id: id, method: method}
	b.mu.Unlock()

	req := struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      string          `json:"id"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params,omitempty"`
	}{"2.0", gid, method, params}
	msg, err := json.Marshal(req)
	if err != nil {
		b.take(gid)
		return fmt.Errorf("forward %s: %w", method, err)
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	if _, err := b.toGL.Write(append(msg, frameEnd...)); err != nil {
		b.take(gid)
		return fmt.Errorf("forward %s: %w", method, err)
	}
	return nil
}

// close ends glightning's input; its Start returns.
func (b *bridge) close() {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	_ = b.toGL.Close()
}

func (b *bridge) take(gid string) (pendingCall, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.pending[gid]
	delete(b.pending, gid)
	return c, ok
}

// glMessage is anything glightning writes.
type glMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// relay reads glightning's output until it ends and passes it on.
func (b *bridge) relay() {
	dec := json.NewDecoder(b.fromGL)
	for {
		var m glMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
			return
		}
		if err != nil {
			// Cannot resynchronize on a garbled stream.
			b.log.Errorf("glightning output: %v", err)
			return
		}
		b.relayOne(&m)
	}
}

func (b *bridge) relayOne(m *glMessage) {
	if isNull(m.ID) {
		if m.Method == "log" {
			var lp logParams
			if err := json.Unmarshal(m.Params, &lp); err == nil {
				b.out.log(lp.Level, lp.Message)
				return
			}
		}
		b.log.Warnf("glightning sent an unexpected message: "+
			"method %q error %s", m.Method, m.Error)
		return
	}
	var gid string
	if err := json.Unmarshal(m.ID, &gid); err != nil {
		b.log.Warnf("glightning replied with id %s", m.ID)
		return
	}
	call, ok := b.take(gid)
	if !ok {
		b.log.Warnf("glightning replied to unknown request %q", gid)
		return
	}

	switch call.method {
	case methodGetManifest:
		if m.Error == nil {
			res, err := rewriteManifest(m.Result)
			if err != nil {
				b.log.Errorf("%v", err)
				m.Error = internalError(err)
			} else {
				m.Result = res
			}
		}

	case methodInit:
		reason := b.disableReason()
		if m.Error != nil {
			var e rpcError
			_ = json.Unmarshal(m.Error, &e)
			reason = "init: " + e.Message
		}
		if reason != "" {
			b.log.Warnf("disabled: %s", reason)
			m.Result, _ = json.Marshal(struct {
				Disable string `json:"disable"`
			}{reason})
			m.Error = nil
		}
	}

	// A write error means lightningd is gone: the reader sees EOF and
	// the run ends.
	switch {
	case m.Error != nil:
		_ = b.out.respondError(call.id, m.Error)
	case m.Result != nil:
		_ = b.out.respond(call.id, m.Result)
	default:
		_ = b.out.respond(call.id, json.RawMessage(`{}`))
	}
}

// internalError is a JSON-RPC error object for err.
func internalError(err error) json.RawMessage {
	b, _ := json.Marshal(rpcError{Code: codeInternal,
		Message: err.Error()})
	return b
}

// rewriteManifest adds what glightning cannot declare to its manifest:
// the subscriptions the plugin handles itself, string ids and the
// custom notification it sends.
func rewriteManifest(res json.RawMessage) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(res, &m); err != nil || m == nil {
		return nil, fmt.Errorf("glightning manifest %s: not an "+
			"object", excerpt(res))
	}
	subs, err := json.Marshal(subscriptions)
	if err != nil {
		return nil, err
	}
	m["subscriptions"] = subs
	m["nonnumericids"] = json.RawMessage("true")
	m["notifications"] = json.RawMessage(`[{"method":"` +
		alertTopic + `"}]`)
	if fb, ok := m["featurebits"]; ok &&
		bytes.Equal(bytes.TrimSpace(fb), []byte("{}")) {

		delete(m, "featurebits")
	}
	return json.Marshal(m)
}
