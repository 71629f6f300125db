package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/internal/table"
	"github.com/chanfitness/chanfitness/plugin/httpapi"
)

// requestTimeout bounds the report command's request.
const requestTimeout = time.Minute

// maxReportSize caps the report the command reads (5,000 channels make
// about 5 MB).
const maxReportSize = 256 << 20

// runReport asks the daemon at cfg.Listen for its report and prints it.
func runReport(ctx context.Context, cfg *Config, stdout io.Writer) error {
	q := url.Values{}
	if cfg.Report.Peer != "" {
		q.Set(httpapi.ParamPeer, cfg.Report.Peer)
	}
	if cfg.Report.Window != "" {
		q.Set(httpapi.ParamWindow, cfg.Report.Window)
	}
	body, err := fetchReport(ctx, cfg, q)
	if err != nil {
		return err
	}
	if cfg.Report.JSON {
		return writeIndented(stdout, body, cfg.Listen)
	}
	var r core.Report
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("report from %s: %w", cfg.Listen, err)
	}
	return table.Write(stdout, r)
}

// runAdvice asks the daemon at cfg.Listen for its report and prints its
// advice, worst first.
func runAdvice(ctx context.Context, cfg *Config, stdout io.Writer) error {
	body, err := fetchReport(ctx, cfg, url.Values{})
	if err != nil {
		return err
	}
	var r core.Report
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("report from %s: %w", cfg.Listen, err)
	}
	adv := core.AdviceOf(r)
	if cfg.Advice.JSON {
		raw, err := json.MarshalIndent(struct {
			Advice []core.Advice `json:"advice"`
		}{adv}, "", "  ")
		if err != nil {
			return err
		}
		_, err = stdout.Write(append(raw, '\n'))
		return err
	}
	return table.WriteAdvice(stdout, adv)
}

// writeIndented writes the JSON body indented.
func writeIndented(stdout io.Writer, body []byte, from string) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		return fmt.Errorf("report from %s: %w", from, err)
	}
	_, err := buf.WriteTo(stdout)
	return err
}

// fetchReport asks the daemon at cfg.Listen for its report with the
// query q and returns the body.
func fetchReport(ctx context.Context, cfg *Config,
	q url.Values) ([]byte, error) {

	return askDaemon(ctx, cfg, httpapi.PathReport+"?"+q.Encode())
}

// reportClient returns the client, base URL and token with which the
// report command reaches the daemon: over TLS trusting exactly the
// daemon's certificate file, with its token, unless --listen.insecure.
func reportClient(cfg *Config) (*http.Client, string, string, error) {
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, "", "", fmt.Errorf("listen address %s: %w",
			core.Quote(cfg.Listen), err)
	}
	// A daemon on every interface is reached on loopback.
	if ip := net.ParseIP(host); host == "" || ip != nil &&
		ip.IsUnspecified() {

		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	addr := net.JoinHostPort(host, port)
	if cfg.ListenOpts.Insecure {
		return &http.Client{}, "http://" + addr, "", nil
	}
	certPath := cfg.TLS.CertPath
	if certPath == "" {
		certPath = filepath.Join(cfg.DataDir, httpapi.TLSCertName)
	}
	tokenPath := cfg.Auth.TokenPath
	if tokenPath == "" {
		tokenPath = filepath.Join(cfg.DataDir, httpapi.TokenName)
	}
	der, err := httpapi.LoadCertPin(certPath)
	if err != nil {
		return nil, "", "", fmt.Errorf("the daemon's TLS certificate "+
			"(same --datadir and --network as the daemon, or "+
			"--tls.certpath; --listen.insecure if it serves plain "+
			"HTTP): %w", err)
	}
	token, err := httpapi.ReadToken(tokenPath)
	if err != nil {
		return nil, "", "", fmt.Errorf("the daemon's %w (same "+
			"--datadir and --network as the daemon, or "+
			"--auth.tokenpath)", err)
	}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: httpapi.PinnedTLS(der)}}
	return client, "https://" + addr, token, nil
}

// signalContext returns a context that is done on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt,
		syscall.SIGTERM)
}
