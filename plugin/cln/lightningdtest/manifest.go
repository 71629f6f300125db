package lightningdtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Manifest is a plugin's getmanifest reply, as lightningd reads it.
type Manifest struct {
	Options       []ManifestOption `json:"options"`
	RPCMethods    []ManifestMethod `json:"rpcmethods"`
	Subscriptions []string         `json:"subscriptions"`
	Dynamic       bool             `json:"dynamic"`
	NonNumericIDs bool             `json:"nonnumericids"`

	// Notifications are the custom notifications the plugin may send.
	Notifications []ManifestNotification `json:"notifications"`
}

// ManifestNotification is one custom notification a plugin declares.
type ManifestNotification struct {
	Method string `json:"method"`
}

// ManifestOption is one option of a manifest.
type ManifestOption struct {
	Name        string          `json:"name"`
	Type        string          `json:"type"`
	Default     json.RawMessage `json:"default"`
	Description string          `json:"description"`
}

// ManifestMethod is one RPC method of a manifest.
type ManifestMethod struct {
	Name            string `json:"name"`
	Usage           string `json:"usage"`
	Description     string `json:"description"`
	LongDescription string `json:"long_description"`
}

// Option returns the option named name.
func (m *Manifest) Option(name string) (ManifestOption, bool) {
	for _, o := range m.Options {
		if o.Name == name {
			return o, true
		}
	}
	return ManifestOption{}, false
}

// Method returns the RPC method named name.
func (m *Manifest) Method(name string) (ManifestMethod, bool) {
	for _, r := range m.RPCMethods {
		if r.Name == name {
			return r, true
		}
	}
	return ManifestMethod{}, false
}

// Subscribed reports whether the manifest subscribes to topic.
func (m *Manifest) Subscribed(topic string) bool {
	for _, s := range m.Subscriptions {
		if s == topic {
			return true
		}
	}
	return false
}

// optionName is what CLN.md requires of an option name.
var optionName = regexp.MustCompile(`^[0-9a-z_-]+$`)

// KnownTopics are the notification topics of CLN v24.02 to v25.12 that
// a plugin may subscribe to ("*" subscribes to all).
var KnownTopics = []string{
	"channel_opened", "channel_open_failed", "channel_state_changed",
	"connect", "disconnect", "invoice_payment", "invoice_creation",
	"warning", "forward_event", "sendpay_success", "sendpay_failure",
	"coin_movement", "balance_snapshot", "block_added", "openchannel_peer_sigs",
	"onionmessage_forward_fail", "shutdown", "deprecated_oneshot",
	"log", "plugin_started", "plugin_stopped", "pay_part_start",
	"pay_part_end", "*",
}

// builtinCommands are some of lightningd's own commands, which a plugin
// may not register.
var builtinCommands = []string{
	"getinfo", "help", "stop", "plugin", "listpeers", "listpeerchannels",
	"listclosedchannels", "listconfigs", "check", "getmanifest", "init",
}

// ValidateManifest checks a getmanifest result as lightningd does (and a
// little stricter where CLN.md says so): options with name, type and
// description, a type of string, int, bool or flag, a default that
// parses as the type, unique lower-case names with the given prefix;
// an rpcmethods array, each method with name, description and usage
// (v24.08 and later no longer read the description, v24.02 and v24.05
// kill a plugin without one); subscriptions as an array of known topic
// strings.
func ValidateManifest(raw json.RawMessage, optionPrefix string) (*Manifest,
	error) {

	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil || top == nil {
		return nil, fmt.Errorf("manifest %s: not an object", raw)
	}
	optsRaw, ok := top["options"]
	if !ok {
		return nil, fmt.Errorf(`"result.options" was not found in the ` +
			`manifest`)
	}
	var opts []map[string]json.RawMessage
	if err := json.Unmarshal(optsRaw, &opts); err != nil {
		return nil, fmt.Errorf(`"result.options" is not an array of ` +
			`objects`)
	}
	m := &Manifest{}
	seen := map[string]bool{}
	for i, o := range opts {
		opt, err := checkOption(o, optionPrefix)
		if err != nil {
			return nil, fmt.Errorf("option %d: %w", i, err)
		}
		if seen[opt.Name] {
			return nil, fmt.Errorf("option %q declared twice", opt.Name)
		}
		seen[opt.Name] = true
		m.Options = append(m.Options, opt)
	}

	r, ok := top["rpcmethods"]
	if !ok {
		return nil, fmt.Errorf(`"result.rpcmethods" missing`)
	}
	methods, err := checkMethods(r)
	if err != nil {
		return nil, err
	}
	m.RPCMethods = methods

	if s, ok := top["subscriptions"]; ok {
		if err := strictArray(s, &m.Subscriptions); err != nil {
			return nil, fmt.Errorf("subscriptions: %w", err)
		}
		for _, topic := range m.Subscriptions {
			if !known(topic) {
				return nil, fmt.Errorf("topic %q is not a known "+
					"notification topic", topic)
			}
		}
	}
	if m.Dynamic, err = manifestBool(top, "dynamic"); err != nil {
		return nil, err
	}
	if m.NonNumericIDs, err = manifestBool(top,
		"nonnumericids"); err != nil {

		return nil, err
	}
	if n, ok := top["notifications"]; ok {
		if err := strictArray(n, &m.Notifications); err != nil {
			return nil, fmt.Errorf("notifications: %w", err)
		}
		for _, d := range m.Notifications {
			if d.Method == "" {
				return nil, fmt.Errorf("notification without a " +
					"method")
			}
		}
	}
	if h, ok := top["hooks"]; ok {
		var hooks []json.RawMessage
		if err := strictArray(h, &hooks); err != nil {
			return nil, fmt.Errorf("hooks: %w", err)
		}
	}
	return m, nil
}

// manifestBool reads the manifest's optional bool field name.
func manifestBool(top map[string]json.RawMessage, name string) (bool,
	error) {

	var x bool
	v, ok := top[name]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(v, &x); err != nil {
		return false, fmt.Errorf("%s: %s is not a bool", name, v)
	}
	return x, nil
}

// checkMethods checks the manifest's rpcmethods as lightningd does.
func checkMethods(r json.RawMessage) ([]ManifestMethod, error) {
	var methods []ManifestMethod
	if err := strictArray(r, &methods); err != nil {
		return nil, fmt.Errorf("rpcmethods: %w", err)
	}
	names := map[string]bool{}
	for _, meth := range methods {
		switch {
		case meth.Name == "":
			return nil, fmt.Errorf("rpcmethod without a name")
		case meth.Description == "":
			return nil, fmt.Errorf("rpcmethod %q does "+
				"not have a string \"description\"",
				meth.Name)
		case meth.Usage == "":
			return nil, fmt.Errorf("rpcmethod %q: \"usage\" not "+
				"provided", meth.Name)
		case names[meth.Name]:
			return nil, fmt.Errorf("rpcmethod %q declared twice",
				meth.Name)
		}
		for _, b := range builtinCommands {
			if meth.Name == b {
				return nil, fmt.Errorf("rpcmethod %q: "+
					"already registered", meth.Name)
			}
		}
		names[meth.Name] = true
	}
	return methods, nil
}

func strictArray(raw json.RawMessage, into any) error {
	if len(raw) == 0 || bytes.TrimSpace(raw)[0] != '[' {
		return fmt.Errorf("%s is not an array", raw)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("%s: %w", raw, err)
	}
	return nil
}

func known(topic string) bool {
	for _, k := range KnownTopics {
		if topic == k {
			return true
		}
	}
	return false
}

func checkOption(o map[string]json.RawMessage,
	prefix string) (ManifestOption, error) {

	var opt ManifestOption
	str := func(key string, into *string) error {
		v, ok := o[key]
		if !ok {
			return fmt.Errorf(`an option is missing either "name", ` +
				`"description" or "type"`)
		}
		if err := json.Unmarshal(v, into); err != nil {
			return fmt.Errorf("%s %s is not a string", key, v)
		}
		return nil
	}
	if err := str("name", &opt.Name); err != nil {
		return opt, err
	}
	if err := str("type", &opt.Type); err != nil {
		return opt, err
	}
	if err := str("description", &opt.Description); err != nil {
		return opt, err
	}
	if !optionName.MatchString(opt.Name) {
		return opt, fmt.Errorf("name %q: want lower-case [0-9a-z_-]",
			opt.Name)
	}
	if !strings.HasPrefix(opt.Name, prefix) {
		return opt, fmt.Errorf("name %q: want prefix %q", opt.Name,
			prefix)
	}
	def, hasDef := o["default"]
	if hasDef && !bytes.Equal(def, []byte("null")) {
		opt.Default = def
	}
	switch opt.Type {
	case "string":
		var s string
		if opt.Default != nil && json.Unmarshal(opt.Default, &s) != nil {
			return opt, fmt.Errorf("%s: default %s is not a valid "+
				"string", opt.Name, opt.Default)
		}
	case "int":
		var n int64
		if opt.Default != nil && json.Unmarshal(opt.Default, &n) != nil {
			return opt, fmt.Errorf("%s: default %s is not a valid "+
				"int", opt.Name, opt.Default)
		}
	case "bool":
		var b bool
		if opt.Default != nil && json.Unmarshal(opt.Default, &b) != nil {
			return opt, fmt.Errorf("%s: default %s is not a valid "+
				"bool", opt.Name, opt.Default)
		}
	case "flag":
		// lightningd ignores a flag's default.
		opt.Default = nil
	default:
		return opt, fmt.Errorf(`%s: only "string", "int", "bool", `+
			`and "flag" options are supported, not %q`, opt.Name,
			opt.Type)
	}
	return opt, nil
}
