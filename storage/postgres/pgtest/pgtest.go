// Package pgtest runs a real PostgreSQL server for tests: initdb in a
// temporary directory, the server on a free loopback port, each test in
// a database of its own, and the server stopped by its pid.
//
// The server binaries are found in $CHANFITNESS_PG_BIN, else in the
// newest /usr/lib/postgresql/<version>/bin (Debian's postgresql package).
// Without them a test is skipped, saying how to run it; with CI=true it
// fails instead. PostgreSQL refuses to run as root: as root the server
// runs as the user nobody, in a directory that user owns.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/internal/testproc"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// EnvBin names the directory of the server binaries (initdb, postgres).
const EnvBin = "CHANFITNESS_PG_BIN"

// User and Password are the server's superuser and its password; the
// server asks for it over TCP (scram-sha-256).
const (
	User     = "chanfitness"
	Password = "s3cret-pg-Passw0rd"
)

// startTimeout bounds the wait for a server to accept connections.
const startTimeout = 2 * time.Minute

// Server is a PostgreSQL server a test started.
type Server struct {
	// Port is the loopback port it listens on.
	Port int

	bin  string
	dir  string
	cred *syscall.Credential
	proc *testproc.Proc
	dbs  atomic.Int64
}

// Bin returns the directory of the server binaries, or "" when none is
// found.
func Bin() string {
	if d := os.Getenv(EnvBin); d != "" {
		return d
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		return version(dirs[i]) < version(dirs[j])
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "postgres")); err == nil {
			return dirs[i]
		}
	}
	return ""
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// RequireBin returns the binaries' directory, skipping the test (failing
// it with CI=true) when there is none.
func RequireBin(t testing.TB) string {
	t.Helper()
	bin := Bin()
	if bin != "" {
		return bin
	}
	msg := "no PostgreSQL server binaries: install Debian's " +
		"postgresql package (apt-get install postgresql) or set " +
		EnvBin + " to the directory holding initdb and postgres"
	if os.Getenv("CI") == "true" {
		require.FailNow(t, msg)
	}
	t.Skip(msg)
	return ""
}

// Start initializes a cluster in a new temporary directory and starts a
// server on a free loopback port; Stop (registered with t.Cleanup)
// stops it and removes the directory.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := RequireBin(t)
	s := &Server{bin: bin}
	dir, err := os.MkdirTemp("", "chanfitness-pg-")
	require.NoError(t, err)
	s.dir = dir
	t.Cleanup(func() {
		s.Stop(t)
		_ = os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		require.NoError(t, err, "PostgreSQL does not run as root, "+
			"and there is no user nobody to run it as")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		require.NoError(t, os.Chown(dir, uid, gid))
	}
	pw := filepath.Join(dir, "pwfile")
	require.NoError(t, os.WriteFile(pw, []byte(Password+"\n"), 0o600))
	if s.cred != nil {
		require.NoError(t, os.Chown(pw, int(s.cred.Uid),
			int(s.cred.Gid)))
	}
	cmd := exec.Command(filepath.Join(bin, "initdb"), "-D", s.data(),
		"-U", User, "--pwfile="+pw, "--auth-local=trust",
		"--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync",
		"--locale=C")
	s.own(cmd)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "initdb: %s", out)
	s.Port = testproc.FreePort(t)
	s.start(t)
	return s
}

func (s *Server) data() string {
	return filepath.Join(s.dir, "data")
}

// own makes cmd run as the server's user.
func (s *Server) own(cmd *exec.Cmd) {
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
}

// start starts the server on s.Port and waits until it answers.
func (s *Server) start(t testing.TB) {
	t.Helper()
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.data(),
		"-h", "127.0.0.1", "-p", strconv.Itoa(s.Port),
		"-k", s.dir, "-c", "max_connections=200",
		"-c", "log_min_messages=warning")
	s.own(cmd)
	// The log file is opened by the test (as root, when it is).
	log := filepath.Join(s.dir, "postgres.log")
	s.proc = testproc.Start(t, "postgres", log, cmd)
	testproc.WaitFor(t, "postgres to accept connections", startTimeout,
		func() (bool, error) {
			if !s.proc.Running() {
				require.FailNow(t, "postgres exited",
					s.proc.Tail(30))
			}
			ctx, cancel := context.WithTimeout(
				context.Background(), 5*time.Second)
			defer cancel()
			c, err := pgx.Connect(ctx, s.DSN("postgres"))
			if err != nil {
				return false, err
			}
			_ = c.Close(ctx)
			return true, nil
		})
}

// Stop stops the server by its pid with a fast shutdown (SIGINT: open
// sessions are ended, everything committed is kept). Stopping a stopped
// server does nothing.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.proc == nil || !s.proc.Running() {
		return
	}
	_ = syscall.Kill(s.proc.Pid(), syscall.SIGINT)
	s.proc.Wait(t)
}

// Restart stops the server and starts it again on the same port.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.start(t)
}

// Tail returns the end of the server's log.
func (s *Server) Tail() string {
	return s.proc.Tail(40)
}

// DSN returns the URL of database db on the server, with the password.
func (s *Server) DSN(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(User, Password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// NewDatabase creates an empty database and returns its DSN.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d", s.dbs.Add(1))
	ctx := context.Background()
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	require.NoError(t, err)
	defer c.Close(ctx)
	_, err = c.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	return s.DSN(name)
}

// Exec runs sql on the database of dsn, for tests that change a store
// behind its back.
func Exec(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer c.Close(ctx)
	_, err = c.Exec(ctx, sql, args...)
	require.NoError(t, err, "%s", sql)
}

var (
	sharedMu  sync.Mutex
	sharedSrv *Server

	// sharedCleanups are the shared server's cleanups, run by
	// StopShared: registered as soon as there is something to clean,
	// so that a start that fails half-way leaves no server behind.
	sharedCleanups []func()
)

// Shared returns a server shared by the tests of a package, started by
// the first caller; the package's TestMain calls StopShared after its
// tests.
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedSrv != nil {
		return sharedSrv
	}
	RequireBin(t)
	sharedSrv = Start(&keeper{TB: t})
	return sharedSrv
}

// StopShared stops the shared server, if one was started.
func StopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	for i := len(sharedCleanups) - 1; i >= 0; i-- {
		sharedCleanups[i]()
	}
	sharedCleanups, sharedSrv = nil, nil
}

// keeper is a testing.TB for the shared server: cleanups are left to
// StopShared, since the first test to ask must not stop it when it ends.
type keeper struct {
	testing.TB
}

// Cleanup keeps f for StopShared. Callers hold sharedMu.
func (k *keeper) Cleanup(f func()) {
	sharedCleanups = append(sharedCleanups, f)
}

func (k *keeper) Helper() {}

func (k *keeper) Logf(format string, args ...any) {
	if k.TB != nil {
		k.TB.Logf(format, args...)
	}
}
