package lightningdtest

import (
	"bytes"
	"strings"
	"sync"
	"syscall"
	"time"
)

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
