// Command demo simulates a Lightning node with 50 channel peers of
// distinct behaviours over 30 days and runs them through the real
// monitor on a badger store, restarting it midway with a gap. It prints
// the peers' fitness as a table and writes the JSON report and a static
// copy of the timeline page to files.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/internal/table"
	"github.com/chanfitness/chanfitness/plugin/httpapi"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/lightningnetwork/lnd/clock"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	dir := fs.String("dir", "demo-data", "directory for the badger "+
		"store and report.json (its store/ is replaced)")
	days := fs.Int("days", 30, "simulated days")
	seed := fs.Int64("seed", 1, "random seed of the simulation")
	gap := fs.Duration("gap", 6*time.Hour, "how long the monitor is "+
		"down at the midway restart")
	window := fs.String("window", "1d", "headline window of the table "+
		"(1d, 7d, 30d, lifetime or a duration such as 12h)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *days < 2 {
		return fmt.Errorf("-days %d: want at least 2", *days)
	}
	if _, err := core.ParseWindow(*window); err != nil {
		return fmt.Errorf("-window: %w", err)
	}

	storeDir := filepath.Join(*dir, "store")
	if err := os.RemoveAll(storeDir); err != nil {
		return fmt.Errorf("clear %s: %w", storeDir, err)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", *dir, err)
	}

	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(time.Duration(*days) * 24 * time.Hour)
	node := newSimNode(*seed, start, end)
	clk := clock.NewTestClock(start)
	ctx := context.Background()

	// First half, then the monitor is down for -gap while the node
	// carries on, then the second half on the same store.
	mid := start.Add(end.Sub(start) / 2)
	began := time.Now()
	if err := runPhase(ctx, storeDir, clk, node, start, mid,
		nil); err != nil {
		return err
	}
	var rep, pageRep core.Report
	var tl core.Timeline
	if err := runPhase(ctx, storeDir, clk, node, mid.Add(*gap), end,
		func(m *core.Monitor) error {
			var err error
			rep, err = m.Report(ctx, core.ReportQuery{
				Window: *window,
			})
			if err != nil {
				return err
			}
			// The page covers the whole simulation.
			pageRep, err = m.Report(ctx, core.ReportQuery{
				Window: core.WindowLifetime,
			})
			if err != nil {
				return err
			}
			tl, err = m.Timeline(ctx, core.TimelineQuery{
				Window:      core.WindowLifetime,
				MaxSegments: httpapi.PageSegments,
			})
			return err
		}); err != nil {
		return err
	}
	elapsed := time.Since(began)

	reportPath := filepath.Join(*dir, "report.json")
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(reportPath, raw, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", reportPath, err)
	}
	var page bytes.Buffer
	if err := httpapi.WritePage(&page, pageRep, tl, httpapi.PageOptions{
		Static: true}); err != nil {
		return err
	}
	pagePath := filepath.Join(*dir, "report.html")
	if err := os.WriteFile(pagePath, page.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", pagePath, err)
	}

	fmt.Fprintf(out, "Simulated %d days of a node with %d channel "+
		"peers (%d events), monitor down for %v on day %d.\n\n", *days,
		len(node.peers), node.applied, *gap, *days/2)
	if err := table.Write(out, rep); err != nil {
		return err
	}
	fmt.Fprintln(out)
	writeLegend(out, node, rep)
	fmt.Fprintf(out, "\nJSON report: %s\nTimeline page: %s (open it "+
		"in a browser)\nStore: %s (badger)\nRan in %v.\n", reportPath,
		pagePath, storeDir, elapsed.Round(time.Millisecond))
	return nil
}

// runPhase opens the store, runs a monitor fed by the simulated node from
// `from` to `to`, calls final (if any) and shuts everything down.
func runPhase(ctx context.Context, dir string, clk *clock.TestClock,
	node *simNode, from, to time.Time,
	final func(*core.Monitor) error) error {

	st, err := badgerstore.Open(dir, badgerstore.Options{})
	if err != nil {
		return err
	}
	defer st.Close()

	clk.SetTime(from)
	src := node.phase(clk, from, to)
	m, err := core.NewMonitor(core.Config{
		Store:  st,
		Clock:  clk,
		Source: src,
	})
	if err != nil {
		return err
	}
	if err := m.Start(ctx); err != nil {
		return err
	}
	runErr := <-src.done
	if runErr == nil && final != nil {
		runErr = final(m)
	}
	return errors.Join(runErr, m.Stop(), st.Close())
}

// writeLegend says which behaviour each peer was simulated with, with the
// figures that show it.
func writeLegend(out io.Writer, node *simNode, rep core.Report) {
	byID := make(map[string]core.PeerReport, len(rep.Peers))
	for _, p := range rep.Peers {
		byID[p.PeerID] = p
	}
	peers := append([]*simPeer(nil), node.peers...)
	sort.SliceStable(peers, func(i, j int) bool {
		return peers[i].kind < peers[j].kind
	})
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BEHAVIOUR\tPEER\tUP 1d\tUP 30d\tFLAPS\tOUTAGE 30d\t"+
		"VERDICT")
	steady, lo, hi := 0, 1.0, 0.0
	verdicts := map[string]int{}
	for _, p := range peers {
		r := byID[p.id.String()]
		if p.kind == kindSteady {
			// One summary line instead of 33 alike.
			steady++
			verdicts[r.Verdict]++
			if u := r.Windows[core.Window30d].UptimeRatio; u != nil {
				lo, hi = min(lo, *u), max(hi, *u)
			}
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", p.kind,
			p.id.String()[:16],
			table.FormatRatio(r.Windows[core.Window1d].UptimeRatio),
			table.FormatRatio(r.Windows[core.Window30d].UptimeRatio),
			r.FlapCount, table.FormatSeconds(
				r.Windows[core.Window30d].LongestOutageSeconds),
			r.Verdict)
	}
	if steady > 0 {
		var vs []string
		for _, v := range slices.Sorted(maps.Keys(verdicts)) {
			vs = append(vs, fmt.Sprintf("%s %d", v, verdicts[v]))
		}
		fmt.Fprintf(tw, "%s\t(%d peers)\t\t%s..%s\t\t\t%s\n",
			kindSteady, steady, table.FormatRatio(&lo),
			table.FormatRatio(&hi), strings.Join(vs, ", "))
	}
	tw.Flush()
}
