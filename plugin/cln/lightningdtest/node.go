// Package lightningdtest emulates lightningd for testing a CLN plugin:
// it starts the plugin as lightningd does (cwd <lightning-dir>/<network>,
// LIGHTNINGD_PLUGIN and LIGHTNINGD_VERSION in the environment), speaks
// the plugin protocol with "\n\n"-framed JSON and string ids, validates
// the manifest, serves the RPC socket (getinfo, listpeers,
// listpeerchannels, listclosedchannels), sends notifications in the shapes
// of several CLN versions and calls the plugin's methods as lightning-cli
// would. Like lightningd, it kills the plugin on anything on stdout that
// is not a JSON-RPC object and on a log level it does not know; the test
// then fails. It is stricter than lightningd, which drops a reply to a
// request it never sent and only logs a notification the plugin did not
// declare: both kill the plugin here, since either means a plugin bug (a
// mangled id leaves the caller without an answer).
package lightningdtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// Timeouts lightningd gives a plugin.
const (
	// ManifestTimeout is how long lightningd waits for getmanifest,
	// and InitTimeout for init.
	ManifestTimeout = 60 * time.Second
	InitTimeout     = 60 * time.Second

	// ShutdownTimeout is how long lightningd waits for a plugin
	// subscribed to shutdown to exit.
	ShutdownTimeout = 30 * time.Second
)

// validLevels are the log levels lightningd accepts from a plugin.
var validLevels = map[string]bool{
	"trace": true, "debug": true, "info": true, "unusual": true,
	"warn": true, "error": true, "broken": true,
}

// Options configure an emulated node.
type Options struct {
	// Payload selects the notification shapes (default V24_08: the
	// wrapped and the raw forms).
	Payload Payload

	// Version is LIGHTNINGD_VERSION and getinfo's version (default:
	// the payload's version).
	Version string

	// Network defaults to "regtest".
	Network string

	// Dir is the lightning-dir; the plugin runs in Dir/Network. Empty
	// means a fresh directory removed when the test ends (see NewDir).
	Dir string

	// OptionPrefix every option name must start with (default
	// "chanfitness-").
	OptionPrefix string

	// CallTimeout bounds a method call (default 60 s).
	CallTimeout time.Duration

	// Stderr, when set, receives a copy of the plugin's stderr.
	Stderr io.Writer

	// Env is added to the plugin's environment.
	Env []string

	// ExpectViolations records protocol violations without failing the
	// test (for testing the emulator itself).
	ExpectViolations bool
}

// Response is a plugin's reply to a request.
type Response struct {
	ID     json.RawMessage
	Result json.RawMessage
	Error  *RPCError
}

// RPCError is a JSON-RPC error object.
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Error implements error.
func (e *RPCError) Error() string {
	return fmt.Sprintf("code %d: %s", e.Code, e.Message)
}

// LogLine is a log notification of the plugin.
type LogLine struct {
	Level   string
	Message string
}

// Node is an emulated lightningd with one plugin.
type Node struct {
	t    testing.TB
	opts Options
	rpc  *rpcServer
	st   *state

	// NodeID is the emulated node's id (getinfo).
	NodeID string

	// BaseDir is the lightning-dir; NetDir is BaseDir/<network>, the
	// plugin's working directory, which holds the RPC socket.
	BaseDir string
	NetDir  string

	// Manifest is the plugin's validated manifest, once launched.
	Manifest *Manifest

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *tail

	writeMu   sync.Mutex
	closeOnce sync.Once

	mu      sync.Mutex
	seq     int
	pending map[string]chan Response
	logs    []LogLine
	logWake chan struct{}

	// declared are the custom notifications the manifest declared;
	// custom holds those the plugin sent.
	declared   map[string]bool
	custom     []CustomNotification
	violations []string
	exited     chan struct{}
	exitCode   int
	exitErr    error
	killed     bool
}

// Payload returns the node's payload shape.
func (n *Node) Payload() Payload {
	return n.opts.Payload
}

// NewDir returns a fresh, short directory (unix socket paths are limited
// to about 100 bytes) removed when the test ends.
func NewDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cf-cln-")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// New creates the node's directory and RPC socket. The plugin is started
// with Launch (a binary) or Attach (in this process).
func New(t testing.TB, opts Options) *Node {
	t.Helper()
	if opts.Version == "" {
		opts.Version = opts.Payload.String()
	}
	if opts.Network == "" {
		opts.Network = "regtest"
	}
	if opts.OptionPrefix == "" {
		opts.OptionPrefix = "chanfitness-"
	}
	if opts.CallTimeout == 0 {
		opts.CallTimeout = 60 * time.Second
	}
	if opts.Dir == "" {
		opts.Dir = NewDir(t)
	}
	n := &Node{
		t:       t,
		opts:    opts,
		NodeID:  "03" + strings.Repeat("ab", 32),
		BaseDir: opts.Dir,
		NetDir:  filepath.Join(opts.Dir, opts.Network),
		pending: make(map[string]chan Response),
		logWake: make(chan struct{}),
		exited:  make(chan struct{}),
		stderr:  &tail{max: 64 << 10},
	}
	if err := os.MkdirAll(n.NetDir, 0o700); err != nil {
		t.Fatalf("node dir: %v", err)
	}
	n.st = newState(n.NodeID, opts.Network, opts.Version)
	n.st.noNetEvents = opts.Payload < V25_12
	rpc, err := startRPC(filepath.Join(n.NetDir, "lightning-rpc"), n.st)
	if err != nil {
		t.Fatalf("rpc socket: %v", err)
	}
	n.rpc = rpc
	t.Cleanup(n.cleanup)
	return n
}

// Launch starts the plugin binary as lightningd does and exchanges
// getmanifest; it fails the test unless a valid manifest comes back in
// time.
func (n *Node) Launch(binary string) {
	n.t.Helper()
	cmd := exec.Command(binary)
	cmd.Dir = n.NetDir
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LIGHTNINGD_") {
			env = append(env, kv)
		}
	}
	env = append(env, n.opts.Env...)
	cmd.Env = append(env, "LIGHTNINGD_PLUGIN=1",
		"LIGHTNINGD_VERSION="+n.opts.Version)
	if n.opts.Stderr != nil {
		cmd.Stderr = io.MultiWriter(n.stderr, n.opts.Stderr)
	} else {
		cmd.Stderr = n.stderr
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		n.t.Fatalf("stdin pipe: %v", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		n.t.Fatalf("stdout pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("start %s: %v", binary, err)
	}
	n.cmd = cmd
	n.stdin = in
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		n.readPlugin(out)
	}()
	go func() {
		<-readDone
		err := cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		n.setExited(code, err)
	}()
	n.handshake()
}

// Attach connects the node to a plugin running in this process:
// toPlugin is the plugin's input, fromPlugin its output, and done yields
// the plugin's result when it returns. It then exchanges getmanifest.
func (n *Node) Attach(toPlugin io.WriteCloser, fromPlugin io.Reader,
	done <-chan error) {

	n.t.Helper()
	n.stdin = toPlugin
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		n.readPlugin(fromPlugin)
	}()
	go func() {
		err := <-done
		code := 0
		if err != nil {
			code = 1
		}
		n.setExited(code, err)
	}()
	n.handshake()
}

func (n *Node) setExited(code int, err error) {
	n.mu.Lock()
	n.exitCode, n.exitErr = code, err
	for id, ch := range n.pending {
		close(ch)
		delete(n.pending, id)
	}
	n.mu.Unlock()
	close(n.exited)
}

func (n *Node) handshake() {
	n.t.Helper()
	resp, err := n.request("cln:getmanifest#"+strconv.Itoa(n.nextSeq()),
		"getmanifest", map[string]any{"allow-deprecated-apis": false},
		ManifestTimeout)
	if err != nil {
		n.t.Fatalf("getmanifest: %v", err)
	}
	if resp.Error != nil {
		n.t.Fatalf("getmanifest: %v", resp.Error)
	}
	m, err := ValidateManifest(resp.Result, n.opts.OptionPrefix)
	if err != nil {
		n.violate("invalid manifest: %v", err)
		n.t.FailNow()
	}
	n.Manifest = m
	n.mu.Lock()
	n.declared = make(map[string]bool)
	for _, d := range m.Notifications {
		n.declared[d.Method] = true
	}
	n.mu.Unlock()
}

// CustomNotification is a declared custom notification the plugin sent.
type CustomNotification struct {
	Method string
	Params json.RawMessage
}

// CustomNotifications returns the custom notifications the plugin sent.
func (n *Node) CustomNotifications() []CustomNotification {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]CustomNotification(nil), n.custom...)
}

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

func (n *Node) nextSeq() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seq++
	return n.seq
}

// request sends a request with the given id and waits for its reply.
func (n *Node) request(id, method string, params any,
	timeout time.Duration) (Response, error) {

	rawID, err := json.Marshal(id)
	if err != nil {
		return Response{}, err
	}
	ch := make(chan Response, 1)
	n.mu.Lock()
	select {
	case <-n.exited:
		n.mu.Unlock()
		return Response{}, errors.New("plugin has exited")
	default:
	}
	n.pending[string(rawID)] = ch
	n.mu.Unlock()

	var frame []byte
	if raw, ok := params.(RawParams); ok {
		// By hand: encoding/json refuses what some tests send.
		m, _ := json.Marshal(method)
		frame = append([]byte(`{"jsonrpc":"2.0","id":`), rawID...)
		frame = append(append(frame, `,"method":`...), m...)
		frame = append(append(frame, `,"params":`...), raw...)
		frame = append(frame, "}\n\n"...)
	} else {
		msg := map[string]any{"jsonrpc": "2.0",
			"id": json.RawMessage(rawID), "method": method,
			"params": params}
		if frame, err = json.Marshal(msg); err != nil {
			return Response{}, err
		}
		frame = append(frame, '\n', '\n')
	}
	if err := n.SendRaw(frame); err != nil {
		n.mu.Lock()
		delete(n.pending, string(rawID))
		n.mu.Unlock()
		return Response{}, err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r, ok := <-ch:
		if !ok {
			return Response{}, fmt.Errorf("%s: plugin exited before "+
				"replying (stderr: %s)", method, n.stderr.String())
		}
		return r, nil
	case <-timer.C:
		return Response{}, fmt.Errorf("%s: no reply within %v",
			method, timeout)
	}
}

// send writes one message, compact and followed by "\n\n".
func (n *Node) send(msg any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	return n.SendRaw(append(b, '\n', '\n'))
}

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

// Shutdown sends the shutdown notification and waits for the plugin to
// exit, as lightningd does; it fails the test unless the plugin exits
// within ShutdownTimeout. It returns the exit code.
func (n *Node) Shutdown() int {
	n.t.Helper()
	n.Notify("shutdown", n.opts.Payload.ShutdownParams())
	return n.Wait(ShutdownTimeout)
}

// CloseStdin closes the plugin's input, as lightningd's exit does for a
// plugin not subscribed to shutdown, and waits for the plugin to exit.
func (n *Node) CloseStdin() int {
	n.t.Helper()
	n.writeMu.Lock()
	err := n.stdin.Close()
	n.writeMu.Unlock()
	if err != nil {
		n.t.Fatalf("close plugin stdin: %v", err)
	}
	return n.Wait(ShutdownTimeout)
}

// Wait waits for the plugin to exit and returns its exit code; it fails
// the test after timeout.
func (n *Node) Wait(timeout time.Duration) int {
	n.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-n.exited:
	case <-timer.C:
		n.t.Fatalf("plugin still running %v after it was told to "+
			"stop", timeout)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.exitCode
}

// Exited reports whether the plugin has exited.
func (n *Node) Exited() bool {
	select {
	case <-n.exited:
		return true
	default:
		return false
	}
}

// Kill ends the plugin at once: SIGKILL for a process, closed input for
// an attached one.
func (n *Node) Kill() {
	n.mu.Lock()
	n.killed = true
	n.mu.Unlock()
	if n.cmd != nil && n.cmd.Process != nil {
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		return
	}
	if n.stdin != nil {
		_ = n.stdin.Close()
	}
}

// Stderr returns the tail of the plugin's stderr.
func (n *Node) Stderr() string {
	return n.stderr.String()
}

// Close kills the plugin if it still runs and closes the RPC socket, so
// that another node can use the directory. It is safe to call more than
// once; the test's cleanup calls it.
func (n *Node) Close() {
	n.closeOnce.Do(func() {
		if n.stdin != nil && !n.Exited() {
			n.Kill()
			select {
			case <-n.exited:
			case <-time.After(ShutdownTimeout):
				n.t.Errorf("plugin did not exit after being " +
					"killed")
			}
		}
		n.rpc.close()
	})
}

func (n *Node) cleanup() {
	n.Close()
	errOut := n.stderr.String()
	if strings.Contains(errOut, "WARNING: DATA RACE") {
		n.t.Errorf("the plugin process reported a data race:\n%s",
			errOut)
	} else if n.t.Failed() && errOut != "" {
		n.t.Logf("plugin stderr (tail):\n%s", errOut)
	}
	if n.t.Failed() {
		logs := n.Logs()
		if len(logs) > 40 {
			logs = logs[len(logs)-40:]
		}
		for _, l := range logs {
			n.t.Logf("plugin log %s: %s", l.Level, l.Message)
		}
	}
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

// Write implements io.Writer.
func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > t.max {
		t.buf = bytes.Clone(t.buf[len(t.buf)-t.max:])
	}
	return len(b), nil
}

// String returns what is kept.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
