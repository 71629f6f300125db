package httpapi

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testLog records log lines.
type testLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *testLog) add(level, format string, args []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+" "+fmt.Sprintf(format, args...))
}

func (l *testLog) Debugf(f string, a ...any) { l.add("DBG", f, a) }
func (l *testLog) Infof(f string, a ...any)  { l.add("INF", f, a) }
func (l *testLog) Warnf(f string, a ...any)  { l.add("WRN", f, a) }

func (l *testLog) matching(prefix string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.lines {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// serve starts a server of cfg on a loopback port and stops it at the
// end of the test.
func serve(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	m := &stubMonitor{report: sampleReport(), connected: true}
	s, err := Listen(cfg, m)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		require.NoError(t, <-done)
	})
	return s
}

// rawGet sends one keep-alive GET on conn and reads its answer.
func rawGet(t *testing.T, conn net.Conn, br *bufio.Reader, path string) {
	t.Helper()
	_, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	require.NoError(t, err)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// waitClosed fails unless the server closes conn within a minute (the
// test's idle timeout is far shorter; this only bounds a broken run).
func waitClosed(t *testing.T, conn net.Conn, br *bufio.Reader) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(time.Minute)))
	_, err := br.ReadByte()
	require.ErrorIs(t, err, io.EOF, "the server did not close the "+
		"idle connection")
}

func TestServerClosesIdleConnections(t *testing.T) {
	const n = 20
	s := serve(t, Config{Insecure: true, Limits: Limits{
		IdleTimeout:       50 * time.Millisecond,
		ReadHeaderTimeout: 50 * time.Millisecond, MaxConns: n}})
	conns := make([]net.Conn, n)
	readers := make([]*bufio.Reader, n)
	for i := range conns {
		c, err := net.Dial("tcp", s.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		conns[i], readers[i] = c, bufio.NewReader(c)
		rawGet(t, c, readers[i], PathHealth)
	}
	for i := range conns {
		waitClosed(t, conns[i], readers[i])
	}

	// A connection that never sends a request is closed too.
	c, err := net.Dial("tcp", s.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	waitClosed(t, c, bufio.NewReader(c))

	// And one that never starts its TLS handshake.
	s = serve(t, Config{Limits: Limits{
		ReadHeaderTimeout: 50 * time.Millisecond}})
	c, err = net.Dial("tcp", s.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	waitClosed(t, c, bufio.NewReader(c))
}

func TestServerWarnsOfAnUnnamedHost(t *testing.T) {
	dir := t.TempDir()
	s, err := Listen(Config{Listen: "127.0.0.1:0", DataDir: dir},
		&stubMonitor{})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	// The generated certificate names 127.0.0.1 but not 127.0.0.2.
	log := &testLog{}
	s, err = Listen(Config{Listen: "127.0.0.2:0", DataDir: dir,
		Logger: log}, &stubMonitor{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	warns := log.matching("WRN")
	require.Len(t, warns, 1)
	require.Contains(t, warns[0], "does not name 127.0.0.2")
	require.Contains(t, warns[0], filepath.Join(dir, TLSKeyName))
}

func TestServerConnectionCap(t *testing.T) {
	const capConns = 3
	s := serve(t, Config{Insecure: true, Limits: Limits{
		MaxConns: capConns, IdleTimeout: time.Hour}})
	held := make([]net.Conn, capConns)
	for i := range held {
		c, err := net.Dial("tcp", s.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		rawGet(t, c, bufio.NewReader(c), PathHealth)
		held[i] = c
	}

	// One more connection is not served while the others are held.
	extra, err := net.Dial("tcp", s.Addr().String())
	require.NoError(t, err)
	defer extra.Close()
	br := bufio.NewReader(extra)
	_, err = fmt.Fprintf(extra, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
		PathHealth)
	require.NoError(t, err)
	require.NoError(t, extra.SetReadDeadline(
		time.Now().Add(200*time.Millisecond)))
	_, err = br.Peek(1)
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(),
		"a connection past the cap was served: %v", err)

	// It is served once one of them closes.
	require.NoError(t, held[0].Close())
	require.NoError(t, extra.SetReadDeadline(time.Now().Add(time.Minute)))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// client returns an HTTPS client that trusts only the certificate file
// at path and checks the server's name against it.
func client(t *testing.T, certPath, serverName string) *http.Client {
	t.Helper()
	b, err := os.ReadFile(certPath)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(b))
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool,
			ServerName: serverName},
	}}
}

// getWith sends a GET with an optional bearer token.
func getWith(t *testing.T, c *http.Client, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestServerTLSAndToken(t *testing.T) {
	dir := t.TempDir()
	log := &testLog{}
	s := serve(t, Config{DataDir: dir, Logger: log,
		TLSExtraDomains: []string{"node.example"},
		TLSExtraIPs:     []string{"192.0.2.7"}})
	require.False(t, s.Insecure)
	require.True(t, strings.HasPrefix(s.URL(), "https://"))
	certPath := filepath.Join(dir, TLSCertName)
	require.Equal(t, certPath, s.CertPath)
	require.Equal(t, filepath.Join(dir, TokenName), s.TokenPath)

	for name, mode := range map[string]os.FileMode{TLSKeyName: 0o600,
		TokenName: 0o600, TLSCertName: 0o644} {

		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, mode, fi.Mode().Perm(), name)
	}
	b, err := os.ReadFile(certPath)
	require.NoError(t, err)
	block, _ := pem.Decode(b)
	leaf, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	require.Contains(t, leaf.DNSNames, "localhost")
	require.Contains(t, leaf.DNSNames, "node.example")
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	require.Contains(t, ips, "127.0.0.1")
	require.Contains(t, ips, "192.0.2.7")
	require.Empty(t, log.matching("WRN"))

	token, err := ReadToken(s.TokenPath)
	require.NoError(t, err)
	require.Len(t, token, 64)

	// The handshake verifies against the generated certificate, by IP
	// and by an extra domain.
	c := client(t, certPath, "127.0.0.1")
	base := s.URL()
	require.Equal(t, 401, getWith(t, c, base+PathReport, ""))
	require.Equal(t, 401, getWith(t, c, base+PathReport, token+"x"))
	require.Equal(t, 401, getWith(t, c, base+PathReport, token[:63]))
	require.Equal(t, 401, getWith(t, c, base+PathMetrics, ""))
	require.Equal(t, 200, getWith(t, c, base+PathReport, token))
	require.Equal(t, 200, getWith(t, c, base+PathMetrics, token))
	require.Equal(t, 200, getWith(t, c, base+PathHealth, ""))
	c = client(t, certPath, "node.example")
	require.Equal(t, 200, getWith(t, c, base+PathReport, token))

	// A name the certificate does not carry fails the handshake.
	_, err = client(t, certPath, "other.example").Get(base + PathHealth)
	require.ErrorContains(t, err, "certificate")

	// Plain HTTP gets no report.
	resp, err := http.Get("http://" + s.Addr().String() + PathReport)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	// The pinned client of the report command accepts the file's
	// certificate, and no other.
	der, err := LoadCertPin(certPath)
	require.NoError(t, err)
	pinned := &http.Client{Transport: &http.Transport{
		TLSClientConfig: PinnedTLS(der)}}
	require.Equal(t, 200, getWith(t, pinned, base+PathReport, token))
	otherPEM, _, err := GenerateCert("127.0.0.1", nil, nil, time.Now(),
		time.Hour)
	require.NoError(t, err)
	block, _ = pem.Decode(otherPEM)
	pinned = &http.Client{Transport: &http.Transport{
		TLSClientConfig: PinnedTLS(block.Bytes)}}
	_, err = pinned.Get(base + PathHealth)
	require.ErrorContains(t, err, "not the one in its certificate file")
}

func TestServerKeepsItsFiles(t *testing.T) {
	dir := t.TempDir()
	s1, err := Listen(Config{Listen: "127.0.0.1:0", DataDir: dir},
		&stubMonitor{})
	require.NoError(t, err)
	require.NoError(t, s1.Close())
	cert1, err := os.ReadFile(filepath.Join(dir, TLSCertName))
	require.NoError(t, err)
	token1, err := ReadToken(filepath.Join(dir, TokenName))
	require.NoError(t, err)

	s2, err := Listen(Config{Listen: "127.0.0.1:0", DataDir: dir},
		&stubMonitor{})
	require.NoError(t, err)
	require.NoError(t, s2.Close())
	cert2, err := os.ReadFile(filepath.Join(dir, TLSCertName))
	require.NoError(t, err)
	token2, err := ReadToken(filepath.Join(dir, TokenName))
	require.NoError(t, err)
	require.Equal(t, cert1, cert2)
	require.Equal(t, token1, token2)
}

func TestServerInsecureWarnsOnce(t *testing.T) {
	log := &testLog{}
	dir := t.TempDir()
	s := serve(t, Config{Insecure: true, DataDir: dir, Logger: log})
	require.True(t, strings.HasPrefix(s.URL(), "http://"))
	warns := log.matching("WRN")
	require.Len(t, warns, 1)
	require.Contains(t, warns[0], "plain HTTP without a token")
	require.Contains(t, warns[0], "private channels")
	require.Contains(t, warns[0], "anyone on this machine")
	c := &http.Client{}
	require.Equal(t, 200, getWith(t, c, s.URL()+PathReport, ""))
	// No certificate or token is made for an insecure listener.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// TestServerWarnsOfAnOpenToken: a token file others may read is used,
// with a warning naming it, its mode and the fix; one only its owner
// reads is used silently.
func TestServerWarnsOfAnOpenToken(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, time.Now(), 24*time.Hour)
	for _, mode := range []os.FileMode{0o644, 0o640, 0o600, 0o400} {
		token := filepath.Join(dir, fmt.Sprintf("%o.token", mode))
		require.NoError(t, os.WriteFile(token,
			[]byte("0123456789abcdef0123"), mode))
		require.NoError(t, os.Chmod(token, mode)) // whatever the umask
		log := &testLog{}
		serve(t, Config{TLSCertPath: cert, TLSKeyPath: key,
			TokenPath: token, Logger: log})
		warns := log.matching("WRN")
		if mode&0o077 == 0 {
			require.Empty(t, warns, "mode %o", mode)
			continue
		}
		require.Len(t, warns, 1, "mode %o", mode)
		require.Contains(t, warns[0], token)
		require.Contains(t, warns[0], fmt.Sprintf("mode %04o", mode))
		require.Contains(t, warns[0], "chmod 600 "+token)
	}
}

// TestServerWarnsOfAnOpenKey: a TLS key file that others may read is
// used, with a warning naming it, its mode and the fix.
func TestServerWarnsOfAnOpenKey(t *testing.T) {
	cert, key := writeCert(t, t.TempDir(), time.Now(), 24*time.Hour)
	require.NoError(t, os.Chmod(key, 0o644))
	log := &testLog{}
	serve(t, Config{TLSCertPath: cert, TLSKeyPath: key, Logger: log})
	warns := log.matching("WRN")
	require.Len(t, warns, 1)
	require.Contains(t, warns[0], "TLS key "+key+" has mode 0644")
	require.Contains(t, warns[0], "chmod 600 "+key)
}

// TestInsecureReaders: the warning of an insecure listener says that
// anyone who can reach it may read it unless it listens on loopback only
// (no test listens elsewhere).
func TestInsecureReaders(t *testing.T) {
	for host, local := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"localhost": true, "": false, "0.0.0.0": false, "::": false,
		"192.0.2.1": false, "2001:db8::1": false, "example.com": false,
	} {
		want := "anyone who can reach it"
		if local {
			want = "anyone on this machine"
		}
		require.Equal(t, want, insecureReaders(host), host)
	}
}

// writeCert writes a certificate and key made at now, valid for v.
func writeCert(t *testing.T, dir string, now time.Time,
	v time.Duration) (string, string) {

	t.Helper()
	c, k, err := GenerateCert("127.0.0.1", nil, nil, now, v)
	require.NoError(t, err)
	cp, kp := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	require.NoError(t, os.WriteFile(cp, c, 0o644))
	require.NoError(t, os.WriteFile(kp, k, 0o600))
	return cp, kp
}

func TestServerRefusesBadFiles(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	expCert, expKey := writeCert(t, t.TempDir(), now.Add(-48*time.Hour),
		24*time.Hour)
	goodCert, goodKey := writeCert(t, t.TempDir(), now, 24*time.Hour)
	_, otherKey := writeCert(t, t.TempDir(), now, 24*time.Hour)
	futureCert, futureKey := writeCert(t, t.TempDir(),
		now.Add(48*time.Hour), 24*time.Hour)
	onlyCert := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(onlyCert, TLSCertName),
		[]byte("x"), 0o644))
	shortToken := filepath.Join(dir, "short.token")
	require.NoError(t, os.WriteFile(shortToken, []byte("abc\n"), 0o600))
	spaceToken := filepath.Join(dir, "space.token")
	require.NoError(t, os.WriteFile(spaceToken,
		[]byte("abcdefgh ijklmnopq"), 0o600))

	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"expired", Config{TLSCertPath: expCert, TLSKeyPath: expKey},
			[]string{expCert, "expired at 2026-11-20T10:00:00Z"}},
		{"not yet valid", Config{TLSCertPath: futureCert,
			TLSKeyPath: futureKey},
			[]string{futureCert, "not valid before"}},
		{"mismatch", Config{TLSCertPath: goodCert,
			TLSKeyPath: otherKey},
			[]string{goodCert, otherKey, "does not match"}},
		{"cert without key", Config{TLSCertPath: goodCert},
			[]string{"both"}},
		{"endless cert", Config{TLSCertPath: "/dev/zero",
			TLSKeyPath: goodKey},
			[]string{"/dev/zero", "larger than 1048576 bytes"}},
		{"missing cert", Config{TLSCertPath: dir + "/nope",
			TLSKeyPath: goodKey}, []string{dir + "/nope"}},
		{"generated cert without its key", Config{DataDir: onlyCert},
			[]string{filepath.Join(onlyCert, TLSCertName),
				filepath.Join(onlyCert, TLSKeyName), "delete"}},
		{"endless token", Config{TLSCertPath: goodCert,
			TLSKeyPath: goodKey, TokenPath: "/dev/zero"},
			[]string{"/dev/zero", "larger than"}},
		{"short token", Config{TLSCertPath: goodCert,
			TLSKeyPath: goodKey, TokenPath: shortToken},
			[]string{shortToken, "at least 16"}},
		{"token with a space", Config{TLSCertPath: goodCert,
			TLSKeyPath: goodKey, TokenPath: spaceToken},
			[]string{spaceToken, "visible ASCII"}},
		{"bad extra IP", Config{DataDir: t.TempDir(),
			TLSExtraIPs: []string{"node.example"}},
			[]string{`"node.example" is not an IP`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			// Refused on every interface as on loopback: no fall
			// back to plain HTTP. Nothing is bound when it fails.
			cfg.Listen = "0.0.0.0:0"
			cfg.Now = func() time.Time { return now }
			if cfg.DataDir == "" {
				cfg.DataDir = t.TempDir()
			}
			s, err := Listen(cfg, &stubMonitor{})
			require.Error(t, err)
			require.Nil(t, s)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestGenerateCertNames(t *testing.T) {
	names := func(host string) ([]string, []string) {
		c, _, err := GenerateCert(host, []string{"x.example"},
			[]string{"192.0.2.9"}, time.Now(), time.Hour)
		require.NoError(t, err)
		block, _ := pem.Decode(c)
		leaf, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err)
		var ips []string
		for _, ip := range leaf.IPAddresses {
			ips = append(ips, ip.String())
		}
		return leaf.DNSNames, ips
	}
	dns, ips := names("node.example")
	require.Contains(t, dns, "node.example")
	require.Contains(t, dns, "x.example")
	require.Contains(t, ips, "192.0.2.9")
	_, ips = names("198.51.100.4")
	require.Contains(t, ips, "198.51.100.4")
	// Every interface: each of their addresses, loopback among them.
	for _, host := range []string{"", "0.0.0.0", "::"} {
		_, ips = names(host)
		require.NotContains(t, ips, "0.0.0.0")
		require.Greater(t, len(ips), 3, host)
	}
}
