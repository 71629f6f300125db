package alert

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL,
		bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", w.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := w.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s: %s", w.URL, resp.Status)
	}
	return nil
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
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 200 {
			msg = msg[len(msg)-200:]
		}
		return fmt.Errorf("command %q: %w: %s", c.Command, err, msg)
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
