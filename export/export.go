// Package export keeps files that other tools read current in a
// directory, as lnd keeps channel.backup: the full report as
// report.json, and the peers to close and to watch as lists of public
// keys (unreliable-peers.txt, watch-peers.txt, usable as charge-lnd's
// node.id = file://...). Each file is rewritten whole and swapped in
// atomically (temporary file, fsync, rename, fsync of the directory), so
// a reader sees the old version or the new one, never a mix, even after
// kill -9 or a power loss.
package export

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/internal/loop"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
)

// Names of the files.
const (
	ReportFile     = "report.json"
	UnreliableFile = "unreliable-peers.txt"
	WatchFile      = "watch-peers.txt"
)

// DefaultInterval is the longest time between two rewrites.
const DefaultInterval = 5 * time.Minute

// tmpPrefix starts the names of the temporary files; one left by a kill
// is removed at the next start.
const tmpPrefix = ".chanfitness-export-"

// Source is what the exporter reads: the monitor.
type Source interface {
	Report(ctx context.Context, q core.ReportQuery) (core.Report, error)
	Subscribe() (<-chan struct{}, func())
}

// Logger receives the exporter's log lines.
type Logger interface {
	Infof(format string, args ...any)
	Errorf(format string, args ...any)
}

// Config carries what an Exporter needs.
type Config struct {
	// Dir is the export directory (required); it is created (0700)
	// when missing.
	Dir string

	// Source gives the reports (required).
	Source Source

	// Clock gives the time for the files' comments; nil: the system's.
	Clock clock.Clock

	// Ticker drives the periodic rewrite (default every
	// DefaultInterval; tests use ticker.NewForce).
	Ticker ticker.Ticker

	// Logger receives failures; nil discards them.
	Logger Logger
}

// Exporter keeps the files current. Start writes them and starts the
// loop; Stop ends it.
type Exporter struct {
	cfg  Config
	loop *loop.Loop

	// last is the state of the files written last (open channels and
	// verdicts); a change makes the loop rewrite them.
	last string

	writes atomic.Uint64
}

// New checks cfg and returns an exporter; it starts nothing.
func New(cfg Config) (*Exporter, error) {
	if cfg.Dir == "" {
		return nil, errors.New("export: no directory")
	}
	if cfg.Source == nil {
		return nil, errors.New("export: no source")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.NewDefaultClock()
	}
	if cfg.Ticker == nil {
		cfg.Ticker = ticker.New(DefaultInterval)
	}
	if cfg.Logger == nil {
		cfg.Logger = nopLogger{}
	}
	return &Exporter{cfg: cfg, loop: loop.New(cfg.Ticker)}, nil
}

type nopLogger struct{}

func (nopLogger) Infof(string, ...any)  {}
func (nopLogger) Errorf(string, ...any) {}

// Start prepares the directory, writes the files once and starts
// keeping them current. An error names the directory.
func (e *Exporter) Start(ctx context.Context) error {
	if !e.loop.Claim() {
		return errors.New("export: already started")
	}
	if err := prepareDir(e.cfg.Dir); err != nil {
		return err
	}
	changed, cancel := e.cfg.Source.Subscribe()
	if err := e.write(ctx); err != nil {
		cancel()
		return err
	}
	e.loop.Run(changed, cancel, loop.Handlers{
		Changed: e.logged(e.writeIfChanged), Tick: e.logged(e.write)})
	return nil
}

// Stop ends the loop and waits for it. It is safe to call more than
// once.
func (e *Exporter) Stop() {
	e.loop.Stop()
}

// Writes returns how many times the files were written.
func (e *Exporter) Writes() uint64 {
	return e.writes.Load()
}

// logged returns write, logging its error unless the loop is stopping.
func (e *Exporter) logged(write func(context.Context) error) func(
	context.Context) {

	return func(ctx context.Context) {
		if err := write(ctx); err != nil && ctx.Err() == nil {
			e.cfg.Logger.Errorf("%v", err)
		}
	}
}

// state sums up what makes the files change at once: the open channels
// and the verdicts.
func state(r core.Report) string {
	var b strings.Builder
	for _, c := range r.Channels {
		if c.Status == "open" {
			b.WriteString(c.ChannelPoint)
			b.WriteByte(' ')
		}
	}
	b.WriteByte('|')
	for _, p := range r.Peers {
		b.WriteString(p.PeerID)
		b.WriteByte('=')
		b.WriteString(p.Verdict)
		b.WriteByte(' ')
	}
	return b.String()
}

func (e *Exporter) writeIfChanged(ctx context.Context) error {
	r, err := e.cfg.Source.Report(ctx, core.ReportQuery{})
	if err != nil {
		return fmt.Errorf("export to %s: report: %w", e.cfg.Dir, err)
	}
	if state(r) == e.last {
		return nil
	}
	return e.writeReport(r)
}

func (e *Exporter) write(ctx context.Context) error {
	r, err := e.cfg.Source.Report(ctx, core.ReportQuery{})
	if err != nil {
		return fmt.Errorf("export to %s: report: %w", e.cfg.Dir, err)
	}
	return e.writeReport(r)
}

// writeReport writes the three files from r.
func (e *Exporter) writeReport(r core.Report) error {
	files, err := Render(r, e.cfg.Clock.Now())
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := WriteFile(e.cfg.Dir, f.Name, f.Data); err != nil {
			return err
		}
	}
	e.last = state(r)
	e.writes.Add(1)
	return nil
}

// prepareDir creates dir when missing and removes temporary files an
// interrupted rewrite left.
func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("export directory %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("export directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("export directory %s: not a directory", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("export directory %s: %w", dir, err)
	}
	for _, ent := range ents {
		if strings.HasPrefix(ent.Name(), tmpPrefix) && ent.Type().IsRegular() {
			_ = os.Remove(filepath.Join(dir, ent.Name()))
		}
	}
	return nil
}

// WriteFile replaces dir/name with data atomically: a reader, or the
// file after a crash, has the old content or the new, never a mix. The
// file is created 0600; a symbolic link at dir/name is replaced, not
// followed.
func WriteFile(dir, name string, data []byte) (err error) {
	path := filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, tmpPrefix+name+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// sortedPeers returns r's peers of one verdict, by peer id.
func sortedPeers(r core.Report, verdict string) []core.PeerReport {
	var out []core.PeerReport
	for _, p := range r.Peers {
		if p.Verdict == verdict {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b core.PeerReport) int {
		return strings.Compare(a.PeerID, b.PeerID)
	})
	return out
}
