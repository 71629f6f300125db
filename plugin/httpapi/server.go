package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"golang.org/x/net/netutil"
)

// Names of the files Listen keeps in Config.DataDir.
const (
	TLSCertName = "tls.cert"
	TLSKeyName  = "tls.key"
	TokenName   = "api.token"
)

// Limits hold a server's connections to bounds, so that clients that
// open connections and keep them, or send or read slowly, cannot take
// the process's file descriptors (which the store needs) or its memory.
type Limits struct {
	// MaxConns caps the connections open at once; more wait to be
	// accepted until one closes.
	MaxConns int

	// ReadHeaderTimeout bounds the reading of a request's header (and
	// the TLS handshake), ReadTimeout that of the whole request.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration

	// WriteTimeout bounds a request from the end of its header to the
	// end of its answer.
	WriteTimeout time.Duration

	// IdleTimeout closes a kept-alive connection that asks nothing for
	// that long.
	IdleTimeout time.Duration
}

// DefaultLimits are the limits of a Config that sets none. The idle
// timeout outlasts Prometheus's default scrape interval of a minute, so
// a scraper keeps its connection.
var DefaultLimits = Limits{
	MaxConns:          128,
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      2 * time.Minute,
	IdleTimeout:       2 * time.Minute,
}

// Logger is what the server logs through; core.Logger implements it.
type Logger interface {
	Debugf(format string, args ...any)
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
}

// Config says where and how a server listens.
type Config struct {
	// Listen is the host:port to listen on.
	Listen string

	// Insecure serves plain HTTP without a token. Without it the server
	// serves only TLS, and every path but PathHealth needs the token.
	Insecure bool

	// DataDir holds the generated certificate, key and token.
	DataDir string

	// TLSCertPath and TLSKeyPath name the operator's certificate and
	// key; both empty means DataDir's tls.cert and tls.key, generated
	// (self-signed, for the listen host, localhost, TLSExtraDomains and
	// TLSExtraIPs) when neither exists.
	TLSCertPath, TLSKeyPath string

	TLSExtraDomains []string
	TLSExtraIPs     []string

	// TokenPath names the bearer token file; empty means DataDir's
	// api.token. A missing file is created with a new random token.
	TokenPath string

	// Limits; zero fields take DefaultLimits'.
	Limits Limits

	// Now is the time that certificates are checked against; nil means
	// time.Now.
	Now func() time.Time

	// Logger receives the server's log lines; nil discards them.
	Logger Logger

	// Fleet serves PathFleet; nil answers it with 404 and why.
	Fleet FleetFunc
}

// Server is a listening HTTP server; Serve runs it.
type Server struct {
	srv *http.Server
	lis net.Listener

	// Insecure is Config.Insecure; CertPath and TokenPath are the
	// files in use when it is false.
	Insecure            bool
	CertPath, TokenPath string
}

// Listen prepares the certificate and the token (unless cfg.Insecure),
// opens the listener and returns the server of m's handler. It never
// falls back to plain HTTP: a certificate or token it cannot make or
// read is an error naming the file, and nothing listens.
func Listen(cfg Config, m Monitor) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = nopLogger{}
	}
	lim := cfg.Limits.withDefaults()
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen address %s: %w",
			core.Quote(cfg.Listen), err)
	}

	s := &Server{Insecure: cfg.Insecure}
	var tlsCfg *tls.Config
	token := ""
	if !cfg.Insecure {
		cert, certPath, err := loadOrCreateCert(cfg, host)
		if err != nil {
			return nil, err
		}
		tlsCfg = &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
		}
		s.CertPath = certPath
		s.TokenPath = cfg.TokenPath
		if s.TokenPath == "" {
			s.TokenPath = filepath.Join(cfg.DataDir, TokenName)
		}
		if token, err = loadOrCreateToken(s.TokenPath,
			cfg.Logger); err != nil {

			return nil, err
		}
	}

	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	if cfg.Insecure {
		who := insecureReaders(host)
		cfg.Logger.Warnf("insecure listener on %s: the report (every "+
			"channel point and peer, private channels included) "+
			"and the metrics are served over plain HTTP without a "+
			"token: %s can read them", lis.Addr(), who)
	}
	lis = netutil.LimitListener(lis, lim.MaxConns)
	if tlsCfg != nil {
		lis = tls.NewListener(lis, tlsCfg)
	}
	s.lis = lis
	s.srv = &http.Server{
		Handler: withFleet(NewHandler(m, token), cfg.Fleet,
			cfg.Now, token),
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		// Failed handshakes and the like are the client's business.
		ErrorLog: log.New(debugWriter{cfg.Logger}, "", 0),
	}
	return s, nil
}

// withDefaults fills the zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxConns > 0 {
		d.MaxConns = l.MaxConns
	}
	for _, f := range []struct{ v, into *time.Duration }{
		{&l.ReadHeaderTimeout, &d.ReadHeaderTimeout},
		{&l.ReadTimeout, &d.ReadTimeout},
		{&l.WriteTimeout, &d.WriteTimeout},
		{&l.IdleTimeout, &d.IdleTimeout},
	} {
		if *f.v > 0 {
			*f.into = *f.v
		}
	}
	return d
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr {
	return s.lis.Addr()
}

// URL is the base URL of the server, "https://host:port" or
// "http://host:port".
func (s *Server) URL() string {
	if s.Insecure {
		return "http://" + s.lis.Addr().String()
	}
	return "https://" + s.lis.Addr().String()
}

// Serve serves until Shutdown or Close, and then returns nil.
func (s *Server) Serve() error {
	err := s.srv.Serve(s.lis)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits until the requests in flight are
// answered or ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}

// Close closes the listener and every connection at once.
func (s *Server) Close() error {
	// The server closes the listener once Serve runs; before, only
	// this does.
	err := s.srv.Close()
	if lerr := s.lis.Close(); err == nil &&
		!errors.Is(lerr, net.ErrClosed) {

		err = lerr
	}
	return err
}

// isLoopback reports whether host names the loopback interface only.
// insecureReaders says who may read what an insecure listener on host
// serves.
func insecureReaders(host string) string {
	if isLoopback(host) {
		return "anyone on this machine"
	}
	return "anyone who can reach it"
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// debugWriter writes the http.Server's own lines at debug level.
type debugWriter struct{ log Logger }

func (w debugWriter) Write(b []byte) (int, error) {
	w.log.Debugf("http: %s", strings.TrimSpace(string(b)))
	return len(b), nil
}

// nopLogger discards.
type nopLogger struct{}

func (nopLogger) Debugf(string, ...any) {}
func (nopLogger) Infof(string, ...any)  {}
func (nopLogger) Warnf(string, ...any)  {}
