package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// requestTimeout bounds the report command's request.
const requestTimeout = time.Minute

// runReport asks the daemon at cfg.Listen for its report and prints it.
func runReport(ctx context.Context, cfg *Config, stdout io.Writer) error {
	q := url.Values{}
	if cfg.Report.Peer != "" {
		q.Set("peer", cfg.Report.Peer)
	}
	if cfg.Report.Window != "" {
		q.Set("window", cfg.Report.Window)
	}
	u := url.URL{Scheme: "http", Host: cfg.Listen, Path: PathReport,
		RawQuery: q.Encode()}

	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(),
		nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ask chanfitness-lnd at %s (is it running, "+
			"with this --listen?): %w", cfg.Listen, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read report from %s: %w", cfg.Listen, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("chanfitness-lnd at %s: %s", cfg.Listen,
				e.Error)
		}
		return fmt.Errorf("chanfitness-lnd at %s: %s", cfg.Listen,
			resp.Status)
	}
	if cfg.Report.JSON {
		var buf bytes.Buffer
		if err := json.Indent(&buf, body, "", "  "); err != nil {
			return fmt.Errorf("report from %s: %w", cfg.Listen, err)
		}
		_, err := buf.WriteTo(stdout)
		return err
	}
	var r core.Report
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("report from %s: %w", cfg.Listen, err)
	}
	return core.WriteTable(stdout, r)
}

// signalContext returns a context that is done on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt,
		syscall.SIGTERM)
}
