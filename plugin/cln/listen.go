package cln

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chanfitness/chanfitness/plugin/httpapi"
	"github.com/elementsproject/glightning/glightning"
)

// The HTTP listener of the plugin: the same server as the lnd
// companion's (the timeline page, the report, the timeline, the health
// check and the metrics), off unless optListen is set.
const (
	optListen         = "chanfitness-listen"
	optListenInsecure = "chanfitness-listen-insecure"
	optTLSCert        = "chanfitness-tls-certpath"
	optTLSKey         = "chanfitness-tls-keypath"
	optTLSDomains     = "chanfitness-tls-extradomain"
	optTLSIPs         = "chanfitness-tls-extraip"
	optTokenPath      = "chanfitness-auth-tokenpath"

	// listenShutdown bounds the wait for requests in flight at stop.
	listenShutdown = 5 * time.Second
)

// listenValues are the listener's option values as given.
type listenValues struct {
	Listen, Insecure, Cert, Key, Domains, IPs, Token string
}

// listenSettings are the listener's options, checked; Addr is empty when
// the listener is off.
type listenSettings struct {
	Addr      string
	Insecure  bool
	Cert, Key string
	Domains   []string
	IPs       []string
	TokenPath string
}

// listenOptions are the listener's options for the manifest.
func listenOptions() []glightning.Option {
	return []glightning.Option{
		glightning.NewStringOption(optListen, "host:port of an HTTP "+
			"server with the timeline page (/), /v1/report, "+
			"/v1/timeline, /v1/fleet, /v1/health and /metrics, "+
			"as the lnd "+
			"companion's, over TLS with a bearer token; a port "+
			"alone, or an empty host, is on 127.0.0.1; empty "+
			"(the default) serves nothing", ""),
		glightning.NewStringOption(optListenInsecure, "true serves "+
			"plain HTTP without a token (whoever reaches "+
			optListen+" reads every channel and peer)", "false"),
		glightning.NewStringOption(optTLSCert, "The HTTP server's "+
			"TLS certificate, with "+optTLSKey+"; without both, "+
			"a self-signed pair is made in "+optDatadir, ""),
		glightning.NewStringOption(optTLSKey, "The key of "+
			optTLSCert, ""),
		glightning.NewStringOption(optTLSDomains, "Domains the "+
			"generated certificate also names, comma-separated",
			""),
		glightning.NewStringOption(optTLSIPs, "IP addresses the "+
			"generated certificate also names, comma-separated",
			""),
		glightning.NewStringOption(optTokenPath, "The read-only "+
			"bearer token of the HTTP server; made when missing "+
			"(default: api.token in "+optDatadir+")", ""),
	}
}

// readListenOptions takes the listener's option values out of
// glightning.
func readListenOptions(p *glightning.Plugin) (listenValues, error) {
	var v listenValues
	for _, o := range []struct {
		name string
		val  *string
	}{
		{optListen, &v.Listen}, {optListenInsecure, &v.Insecure},
		{optTLSCert, &v.Cert}, {optTLSKey, &v.Key},
		{optTLSDomains, &v.Domains}, {optTLSIPs, &v.IPs},
		{optTokenPath, &v.Token},
	} {
		var err error
		if *o.val, err = p.GetOption(o.name); err != nil {
			return v, err
		}
	}
	return v, nil
}

// check validates the listener's option values.
func (v listenValues) check() (listenSettings, error) {
	s := listenSettings{Cert: v.Cert, Key: v.Key, TokenPath: v.Token}
	switch v.Insecure {
	case "", "false":
	case "true":
		s.Insecure = true
	default:
		return s, fmt.Errorf("option %s: %q: want true or false",
			optListenInsecure, v.Insecure)
	}
	if (s.Cert == "") != (s.Key == "") {
		return s, fmt.Errorf("options %s and %s: give both or "+
			"neither", optTLSCert, optTLSKey)
	}
	s.Domains = splitList(v.Domains)
	s.IPs = splitList(v.IPs)
	for _, ip := range s.IPs {
		if net.ParseIP(ip) == nil {
			return s, fmt.Errorf("option %s: %q is not an IP "+
				"address", optTLSIPs, ip)
		}
	}
	if v.Listen == "" {
		return s, nil
	}
	addr := v.Listen
	if _, err := strconv.ParseUint(addr, 10, 16); err == nil {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return s, fmt.Errorf("option %s: %q: want host:port or a "+
			"port", optListen, v.Listen)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil ||
		(n == 0 && port != "0") {

		return s, fmt.Errorf("option %s: %q: port %q is not a "+
			"port number", optListen, v.Listen, port)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	s.Addr = net.JoinHostPort(host, port)
	return s, nil
}

// splitList splits a comma-separated option value, dropping blanks.
func splitList(v string) []string {
	var out []string
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// startListener starts the HTTP server of s.mon when set asks for one.
// Relative paths are under the plugin's working directory, as the
// datadir's.
func (r *runner) startListener(s *instance, set listenSettings,
	datadir string) error {

	if set.Addr == "" {
		return nil
	}
	mon, ok := s.mon.(httpapi.Monitor)
	if !ok {
		return errors.New("option " + optListen + ": the monitor " +
			"does not serve HTTP")
	}
	abs := func(p string) (string, error) {
		if p == "" {
			return "", nil
		}
		return filepath.Abs(p)
	}
	dir, err := abs(datadir)
	if err != nil {
		return fmt.Errorf("option %s: %q: %w", optDatadir, datadir, err)
	}
	cfg := httpapi.Config{
		Listen:          set.Addr,
		Insecure:        set.Insecure,
		DataDir:         dir,
		TLSExtraDomains: set.Domains,
		TLSExtraIPs:     set.IPs,
		Now:             r.cfg.Clock.Now,
		Logger:          r.log,
		Limits:          r.cfg.ListenLimits,
	}
	if s.fleet != nil {
		cfg.Fleet = s.fleet.View
	}
	for _, f := range []struct {
		name, in string
		out      *string
	}{
		{optTLSCert, set.Cert, &cfg.TLSCertPath},
		{optTLSKey, set.Key, &cfg.TLSKeyPath},
		{optTokenPath, set.TokenPath, &cfg.TokenPath},
	} {
		if *f.out, err = abs(f.in); err != nil {
			return fmt.Errorf("option %s: %q: %w", f.name, f.in,
				err)
		}
	}
	srv, err := httpapi.Listen(cfg, mon)
	if err != nil {
		return fmt.Errorf("option %s: %w", optListen, err)
	}
	s.srv = srv
	go func() {
		if err := srv.Serve(); err != nil {
			r.log.Warnf("HTTP server on %s stopped: %v", srv.URL(),
				err)
		}
	}()
	if srv.Insecure {
		r.log.Infof("serving the timeline page, %s, %s, %s and %s "+
			"on %s", httpapi.PathReport, httpapi.PathTimeline,
			httpapi.PathHealth, httpapi.PathMetrics, srv.URL())
	} else {
		r.log.Infof("serving the timeline page, %s, %s, %s and %s "+
			"on %s (certificate %s; every path but %s needs the "+
			"token in %s)", httpapi.PathReport,
			httpapi.PathTimeline, httpapi.PathHealth,
			httpapi.PathMetrics, srv.URL(), srv.CertPath,
			httpapi.PathHealth, srv.TokenPath)
	}
	if r.cfg.OnListen != nil {
		r.cfg.OnListen(srv.Addr().String())
	}
	return nil
}

// stopListener stops the HTTP server, if any, letting requests in
// flight finish for a moment.
func (s *instance) stopListener() {
	if s.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(),
		listenShutdown)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	s.srv = nil
}
