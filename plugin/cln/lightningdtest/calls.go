package lightningdtest

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/chanfitness/chanfitness/core"
)

// NotificationFrame returns a notification as lightningd frames it on
// the wire, for tests that send many at once with SendRaw.
func NotificationFrame(topic string, params any) []byte {
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0",
		"method": topic, "params": params})
	if err != nil {
		panic(err)
	}
	return append(b, '\n', '\n')
}

// SendRaw writes b to the plugin's stdin as it is.
func (n *Node) SendRaw(b []byte) error {
	n.writeMu.Lock()
	defer n.writeMu.Unlock()
	if _, err := n.stdin.Write(b); err != nil {
		return fmt.Errorf("write to plugin: %w", err)
	}
	return nil
}

// Notify sends a notification; it fails the test if the plugin is gone.
func (n *Node) Notify(topic string, params any) {
	n.t.Helper()
	err := n.send(map[string]any{"jsonrpc": "2.0", "method": topic,
		"params": params})
	if err != nil {
		n.t.Fatalf("notify %s: %v", topic, err)
	}
}

// Call calls a method with the id lightningd gives a lightning-cli call.
func (n *Node) Call(method string, params any) Response {
	n.t.Helper()
	id := fmt.Sprintf("cli:%s#%d/cln:%s#%d", method, os.Getpid(), method,
		n.nextSeq())
	return n.CallWithID(id, method, params)
}

// RawParams are request params sent as they are, unchecked, as
// lightningd forwards whatever text a caller gave.
type RawParams []byte

// CallWithID calls a method with the given request id. params of type
// RawParams are sent as they are.
func (n *Node) CallWithID(id, method string, params any) Response {
	n.t.Helper()
	r, err := n.request(id, method, params, n.opts.CallTimeout)
	if err != nil {
		n.t.Fatalf("call %s: %v", method, err)
	}
	return r
}

// CLI calls a method as `lightning-cli method args...` would; it fails
// the test where lightning-cli would refuse the arguments.
func (n *Node) CLI(method string, args ...string) Response {
	n.t.Helper()
	params, err := CLIParams(args...)
	if err != nil {
		n.t.Fatalf("lightning-cli %s: %v", method, err)
	}
	return n.Call(method, params)
}

// literal matches what lightning-cli sends as it is when it is all
// digits and dots.
var literal = regexp.MustCompile(`^[0-9.]+$`)

// CLIParams converts lightning-cli arguments to request params as
// lightning-cli does: keywords with -k or when the first argument holds
// "=", every argument then key=value; positional otherwise. Digits and
// dots, true, false, null, {...}, [...] and "..." go as they are, the
// rest as strings.
func CLIParams(args ...string) (any, error) {
	raw := func(s string) json.RawMessage {
		enclosed := func(open, close string) bool {
			return strings.HasPrefix(s, open) &&
				strings.HasSuffix(s, close)
		}
		switch {
		case literal.MatchString(s), s == "true", s == "false",
			s == "null", enclosed("{", "}"), enclosed("[", "]"),
			len(s) > 1 && enclosed(`"`, `"`):

			return json.RawMessage(s)
		}
		b, _ := json.Marshal(s)
		return b
	}
	keywords := len(args) > 0 && args[0] == "-k"
	if keywords {
		args = args[1:]
	} else if len(args) > 0 && strings.Contains(args[0], "=") {
		keywords = true
	}
	if !keywords {
		arr := make([]json.RawMessage, 0, len(args))
		for _, a := range args {
			arr = append(arr, raw(a))
		}
		return arr, nil
	}
	obj := map[string]json.RawMessage{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			//lint:ignore ST1005 lightningd's own wording, reproduced
			return nil, fmt.Errorf("Expected key=value in '%s'", a)
		}
		obj[k] = raw(v)
	}
	return obj, nil
}

// Report calls chanfitness with lightning-cli arguments and decodes the
// report; it fails the test on an error reply.
func (n *Node) Report(args ...string) core.Report {
	n.t.Helper()
	r := n.CLI("chanfitness", args...)
	if r.Error != nil {
		n.t.Fatalf("chanfitness %v: %v", args, r.Error)
	}
	var rep core.Report
	if err := json.Unmarshal(r.Result, &rep); err != nil {
		n.t.Fatalf("chanfitness %v: decode %s: %v", args, r.Result, err)
	}
	return rep
}
