package lightningdtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// readPlugin reads the plugin's output as lightningd does. After a
// violation it only drains the output, so that the plugin never blocks on
// a write while it is being stopped.
func (n *Node) readPlugin(r io.Reader) {
	n.decodePlugin(r)
	_, _ = io.Copy(io.Discard, r)
}

func (n *Node) decodePlugin(r io.Reader) {
	dec := json.NewDecoder(r)
	for {
		var m pluginMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return
		}
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax), errors.Is(err,
			io.ErrUnexpectedEOF):

			rest, _ := io.ReadAll(io.LimitReader(dec.Buffered(), 200))
			n.violate("plugin wrote something that is not JSON to "+
				"stdout: %v (near %q)", err, rest)
			return
		case errors.As(err, &typ) && typ.Field == "":
			n.violate("JSON-RPC message is not a valid JSON object "+
				"type: %s", typ.Value)
			return
		case err != nil:
			n.violate("malformed message: %v", err)
			return
		}
		if err := n.handleOutput(&m); err != nil {
			n.violate("%v", err)
			return
		}
	}
}

// pluginMessage is anything a plugin writes.
type pluginMessage struct {
	JSONRPC *string         `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   *RPCError       `json:"error"`
}

// String describes the message for an error.
func (m *pluginMessage) String() string {
	return fmt.Sprintf("message (id %s, method %q, params %.100s, "+
		"result %.100s, error %v)", m.ID, m.Method, m.Params, m.Result,
		m.Error)
}

func (n *Node) handleOutput(m *pluginMessage) error {
	if m.JSONRPC == nil {
		return fmt.Errorf("JSON-RPC message does not contain "+
			"\"jsonrpc\" field: %v", m)
	}
	if *m.JSONRPC != "2.0" {
		return fmt.Errorf("jsonrpc is %q, not \"2.0\"", *m.JSONRPC)
	}
	if len(m.ID) == 0 {
		return n.handleNotification(m)
	}
	if (m.Result == nil) == (m.Error == nil) {
		return fmt.Errorf("response needs exactly one of result and "+
			"error: %v", m)
	}
	n.mu.Lock()
	ch, ok := n.pending[string(m.ID)]
	delete(n.pending, string(m.ID))
	n.mu.Unlock()
	if !ok {
		//lint:ignore ST1005 lightningd's own wording, reproduced
		return fmt.Errorf("Received a JSON-RPC response for "+
			"non-existent request %s", m.ID)
	}
	ch <- Response{ID: m.ID, Result: m.Result, Error: m.Error}
	return nil
}

func (n *Node) handleNotification(m *pluginMessage) error {

	switch m.Method {
	case "log":
		var p struct {
			Level   *string `json:"level"`
			Message *string `json:"message"`
		}
		if err := json.Unmarshal(m.Params, &p); err != nil ||
			p.Message == nil {

			//lint:ignore ST1005 lightningd's own wording, reproduced
			return fmt.Errorf("Log notification from plugin doesn't "+
				"have a string \"message\" field: %v", m)
		}
		level := "info"
		if p.Level != nil {
			level = *p.Level
		}
		if !validLevels[level] {
			//lint:ignore ST1005 lightningd's own wording, reproduced
			return fmt.Errorf("Unknown log-level %q", level)
		}
		n.mu.Lock()
		n.logs = append(n.logs, LogLine{Level: level,
			Message: *p.Message})
		close(n.logWake)
		n.logWake = make(chan struct{})
		n.mu.Unlock()
		return nil
	case "message", "progress":
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.declared[m.Method] {
		n.custom = append(n.custom, CustomNotification{
			Method: m.Method, Params: m.Params})
		return nil
	}
	return fmt.Errorf("plugin sent notification %q it did not declare: "+
		"%v", m.Method, m)
}

// violate records a protocol violation and kills the plugin, as
// lightningd does.
func (n *Node) violate(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	n.mu.Lock()
	n.violations = append(n.violations, msg)
	n.mu.Unlock()
	if !n.opts.ExpectViolations {
		n.t.Errorf("lightningd would kill the plugin: %s", msg)
	}
	n.Kill()
}

// Violations returns the protocol violations seen so far.
func (n *Node) Violations() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.violations...)
}

// Logs returns the plugin's log lines so far.
func (n *Node) Logs() []LogLine {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]LogLine(nil), n.logs...)
}

// WaitLog waits until a log line contains substr and returns it; it fails
// the test after timeout.
func (n *Node) WaitLog(substr string, timeout time.Duration) LogLine {
	n.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		n.mu.Lock()
		for ; seen < len(n.logs); seen++ {
			if strings.Contains(n.logs[seen].Message, substr) {
				l := n.logs[seen]
				n.mu.Unlock()
				return l
			}
		}
		wake := n.logWake
		n.mu.Unlock()
		select {
		case <-wake:
		case <-n.exited:
			n.t.Fatalf("plugin exited before logging %q", substr)
		case <-deadline.C:
			n.t.Fatalf("no log line with %q within %v", substr,
				timeout)
		}
	}
}
