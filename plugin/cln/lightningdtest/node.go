// Package lightningdtest emulates lightningd for testing a CLN plugin:
// it starts the plugin as lightningd does (cwd <lightning-dir>/<network>,
// LIGHTNINGD_PLUGIN and LIGHTNINGD_VERSION in the environment), speaks
// the plugin protocol with "\n\n"-framed JSON and string ids, validates
// the manifest, serves the RPC socket (getinfo, listpeers,
// listpeerchannels, listclosedchannels), sends notifications in the shapes
// of several CLN versions and calls the plugin's methods as lightning-cli
// would. An RPC call can be made to hang or to get a garbled reply, as
// from a busy or broken lightningd. Like lightningd, it kills the plugin
// on anything on stdout that is not a JSON-RPC object and on a log level
// it does not know; the test then fails. It is stricter than lightningd,
// which drops a reply to a request it never sent and only logs a
// notification the plugin did not declare: both kill the plugin here,
// since either means a plugin bug (a mangled id leaves the caller without
// an answer).
package lightningdtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
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
