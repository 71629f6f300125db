package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"time"
)

// Timeouts of one delivery.
const (
	webhookTimeout = 10 * time.Second
	commandTimeout = 30 * time.Second
)

// Webhook POSTs each alert's JSON to a URL; any 2xx answer takes it.
type Webhook struct {
	URL    string
	Client *http.Client
}

// Name implements Sink.
func (w *Webhook) Name() string { return "webhook" }

// Deliver implements Sink.
func (w *Webhook) Deliver(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	where := redact(w.URL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL,
		bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", where, err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := w.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		// The client's error quotes the whole URL.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("webhook %s: %w", where, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s: %s", where, resp.Status)
	}
	return nil
}

// redact keeps a URL's scheme and host: its path or query may hold a
// secret (a bot's token), which has no place in a log.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

// Write implements io.Writer.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

// Command runs a command by /bin/sh -c with each alert's JSON on stdin;
// exit status 0 takes it. Its output is kept for the error, never
// passed on (a Core Lightning plugin's stdout is its protocol).
type Command struct {
	Command string
}

// Name implements Sink.
func (c *Command) Name() string { return "command" }

// Deliver implements Sink.
func (c *Command) Deliver(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", c.Command)
	cmd.Stdin = bytes.NewReader(body)
	// Only the end of what it prints is kept, for the error.
	out := &tailBuffer{max: 200}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		// Not the command line itself: it may hold a secret.
		return fmt.Errorf("alert command: %w: %s", err,
			strings.TrimSpace(string(out.b)))
	}
	return nil
}

// Func is a sink made of a function (Core Lightning's notification).
type Func struct {
	SinkName string
	Fn       func(ctx context.Context, body []byte) error
}

// Name implements Sink.
func (f *Func) Name() string { return f.SinkName }

// Deliver implements Sink.
func (f *Func) Deliver(ctx context.Context, body []byte) error {
	return f.Fn(ctx, body)
}
