package lightningdtest

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Init sends init as lightningd does: every option with a default gets a
// value, given ones override it (a nil value leaves the option out, as
// lightningd does for an unset flag). Values go in the JSON type of the
// option (see initOptionValue); the test fails on one lightningd would
// not send. It returns the plugin's disable reason, "" when it started.
// A dynamic init is a "plugin start" on a running node
// (configuration.startup false).
func (n *Node) Init(values map[string]any, dynamic bool) string {
	n.t.Helper()
	opts := map[string]any{}
	for _, o := range n.Manifest.Options {
		if o.Default != nil {
			opts[o.Name] = o.Default
		}
	}
	for k, v := range values {
		o, ok := n.Manifest.Option(k)
		if !ok {
			n.t.Fatalf("init: option %q is not in the manifest", k)
		}
		if v == nil {
			delete(opts, k)
			continue
		}
		val, err := initOptionValue(o, v)
		if err != nil {
			n.t.Fatalf("init: %v", err)
		}
		opts[k] = val
	}
	params := map[string]any{
		"options": opts,
		"configuration": map[string]any{
			"lightning-dir": n.NetDir,
			"rpc-file":      "lightning-rpc",
			"startup":       !dynamic,
			"network":       n.opts.Network,
			"feature_set": map[string]any{
				"init":    "08a0000a0a69a2",
				"node":    "88a0000a0a69a2",
				"channel": "",
				"invoice": "02000002024100",
			},
		},
	}
	resp, err := n.request("cln:init#"+strconv.Itoa(n.nextSeq()), "init",
		params, InitTimeout)
	if err != nil {
		n.t.Fatalf("init: %v", err)
	}
	if resp.Error != nil {
		n.violate("init failed: %v", resp.Error)
		n.t.FailNow()
	}
	var res struct {
		Disable *string `json:"disable"`
	}
	if err := json.Unmarshal(resp.Result, &res); err == nil &&
		res.Disable != nil {

		// lightningd kills a plugin that disables itself.
		n.Kill()
		return *res.Disable
	}
	return ""
}

// initOptionValue returns v as lightningd puts an option of o's type in
// init: an int as a number, a bool as a bool, a string as a string, a
// flag as true (present only when set). lightningd refuses a config line
// that does not parse as the option's type, so no other value reaches a
// plugin; such a value is an error. A json.RawMessage goes as it is, for
// testing what a plugin does with a value lightningd would not send.
func initOptionValue(o ManifestOption, v any) (any, error) {
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	bad := func(what string) error {
		return fmt.Errorf("option %s of type %s: %#v is %s", o.Name,
			o.Type, v, what)
	}
	switch o.Type {
	case "int":
		switch x := v.(type) {
		case int:
			return int64(x), nil
		case int32:
			return int64(x), nil
		case int64:
			return x, nil
		case float64:
			if x == float64(int64(x)) {
				return int64(x), nil
			}
		}
		return nil, bad("not an integer")
	case "bool":
		if _, ok := v.(bool); !ok {
			return nil, bad("not a bool")
		}
	case "string":
		if _, ok := v.(string); !ok {
			return nil, bad("not a string")
		}
	case "flag":
		if b, ok := v.(bool); !ok || !b {
			return nil, bad("not true: a flag is set or left out")
		}
	default:
		return nil, bad("of an unknown type")
	}
	return v, nil
}

// Start launches the binary and inits it with the given options; it fails
// the test if the plugin disables itself.
func (n *Node) Start(binary string, values map[string]any, dynamic bool) {
	n.t.Helper()
	n.Launch(binary)
	if reason := n.Init(values, dynamic); reason != "" {
		n.t.Fatalf("plugin disabled itself: %s", reason)
	}
}
