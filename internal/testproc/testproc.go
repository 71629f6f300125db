// Package testproc starts, watches and stops the daemons of the
// integration tests (btcd, lnd, lightningd), and polls for what the tests
// wait on. Every process is started by the test and stopped by its pid.
package testproc

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL,
	// and how long Wait waits for an exit.
	StopTimeout = 30 * time.Second

	// PollInterval is how often WaitFor asks its condition again.
	PollInterval = 100 * time.Millisecond
)

// Proc is a daemon started by a test.
type Proc struct {
	// Name names the daemon in messages; Log is the file its output
	// goes to.
	Name string
	Log  string

	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts cmd, its standard output and error appended to logPath.
func Start(t testing.TB, name, logPath string, cmd *exec.Cmd) *Proc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND,
		0o600)
	require.NoError(t, err)
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	require.NoError(t, cmd.Start(), "start %s", name)
	p := &Proc{Name: name, Log: logPath, cmd: cmd,
		done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	return p
}

// Pid is the process's id.
func (p *Proc) Pid() int {
	return p.cmd.Process.Pid
}

// Running reports whether the process is still running.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stop ends the process: SIGTERM, then SIGKILL after StopTimeout.
func (p *Proc) Stop(t testing.TB) {
	t.Helper()
	if !p.Running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(StopTimeout):
	}
	t.Logf("%s (pid %d) ignored SIGTERM; killing it", p.Name, p.Pid())
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Wait waits until the process has exited, failing the test after
// StopTimeout.
func (p *Proc) Wait(t testing.TB) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(StopTimeout):
		require.FailNow(t, p.Name+" did not exit")
	}
}

// Tail returns the last n lines of the process's log.
func (p *Proc) Tail(n int) string {
	return TailFile(p.Log, n)
}

// TailFile returns the last n lines of a file, or why it cannot.
func TailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitFor polls cond until it holds, failing the test after timeout with
// the last error cond gave.
func WaitFor(t testing.TB, what string, timeout time.Duration,
	cond func() (bool, error)) {

	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			require.FailNow(t, "timed out waiting for "+what,
				"after %v; last error: %v", timeout, last)
		}
		time.Sleep(PollInterval)
	}
}
