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

// options are the demo's flags.
type options struct {
	dir    string
	days   int
	seed   int64
	gap    time.Duration
	window string
}

// parseArgs reads the demo's flags and checks them.
func parseArgs(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.StringVar(&o.dir, "dir", "demo-data", "directory for the badger "+
		"store and report.json (its store/ is replaced)")
	fs.IntVar(&o.days, "days", 30, "simulated days")
	fs.Int64Var(&o.seed, "seed", 1, "random seed of the simulation")
	fs.DurationVar(&o.gap, "gap", 6*time.Hour, "how long the monitor is "+
		"down at the midway restart")
	fs.StringVar(&o.window, "window", "1d", "headline window of the "+
		"table (1d, 7d, 30d, lifetime or a duration such as 12h)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.days < 2 {
		return o, fmt.Errorf("-days %d: want at least 2", o.days)
	}
	if _, err := core.ParseWindow(o.window); err != nil {
		return o, fmt.Errorf("-window: %w", err)
	}
	return o, nil
}

// results are what the simulation's final monitor reported: the table's
// report over the headline window, and the page's report and timeline
// over the whole simulation.
type results struct {
	rep, pageRep core.Report
	tl           core.Timeline
}

// run runs the demo with args and prints its table and legend to out.
func run(args []string, out io.Writer) error {
	o, err := parseArgs(args)
	if err != nil {
		return err
	}
	storeDir := filepath.Join(o.dir, "store")
	if err := os.RemoveAll(storeDir); err != nil {
		return fmt.Errorf("clear %s: %w", storeDir, err)
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", o.dir, err)
	}

	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(time.Duration(o.days) * 24 * time.Hour)
	node := newSimNode(o.seed, start, end)
	began := time.Now()
	res, err := simulate(storeDir, node, o, start, end)
	if err != nil {
		return err
	}
	elapsed := time.Since(began)

	reportPath, pagePath, err := writeFiles(o.dir, res)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Simulated %d days of a node with %d channel "+
		"peers (%d events), monitor down for %v on day %d.\n\n", o.days,
		len(node.peers), node.applied, o.gap, o.days/2)
	if err := table.Write(out, res.rep); err != nil {
		return err
	}
	fmt.Fprintln(out)
	writeLegend(out, node, res.rep)
	fmt.Fprintf(out, "\nJSON report: %s\nTimeline page: %s (open it "+
		"in a browser)\nStore: %s (badger)\nRan in %v.\n", reportPath,
		pagePath, storeDir, elapsed.Round(time.Millisecond))
	return nil
}

// simulate runs the node from start to end through monitors on the store
// in storeDir: the first half, then the monitor is down for the gap while
// the node carries on, then the second half on the same store.
func simulate(storeDir string, node *simNode, o options, start,
	end time.Time) (results, error) {

	clk := clock.NewTestClock(start)
	ctx := context.Background()
	mid := start.Add(end.Sub(start) / 2)
	var res results
	if err := runPhase(ctx, storeDir, clk, node, start, mid,
		nil); err != nil {
		return res, err
	}
	err := runPhase(ctx, storeDir, clk, node, mid.Add(o.gap), end,
		func(m *core.Monitor) error {
			var err error
			res.rep, err = m.Report(ctx, core.ReportQuery{
				Window: o.window,
			})
			if err != nil {
				return err
			}
			// The page covers the whole simulation.
			res.pageRep, err = m.Report(ctx, core.ReportQuery{
				Window: core.WindowLifetime,
			})
			if err != nil {
				return err
			}
			res.tl, err = m.Timeline(ctx, core.TimelineQuery{
				Window:      core.WindowLifetime,
				MaxSegments: httpapi.PageSegments,
			})
			return err
		})
	return res, err
}

// writeFiles writes the JSON report and the static timeline page into dir
// and returns their paths.
func writeFiles(dir string, res results) (reportPath, pagePath string,
	err error) {

	reportPath = filepath.Join(dir, "report.json")
	raw, err := json.MarshalIndent(res.rep, "", "  ")
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(reportPath, raw, 0o600); err != nil {
		return "", "", fmt.Errorf("write %s: %w", reportPath, err)
	}
	var page bytes.Buffer
	if err := httpapi.WritePage(&page, res.pageRep, res.tl,
		httpapi.PageOptions{Static: true}); err != nil {
		return "", "", err
	}
	pagePath = filepath.Join(dir, "report.html")
	if err := os.WriteFile(pagePath, page.Bytes(), 0o600); err != nil {
		return "", "", fmt.Errorf("write %s: %w", pagePath, err)
	}
	return reportPath, pagePath, nil
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
