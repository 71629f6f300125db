package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/fleet"
	"github.com/chanfitness/chanfitness/plugin/httpapi"
	"github.com/chanfitness/chanfitness/storage"
	"github.com/chanfitness/chanfitness/storage/postgres"
)

// FleetCommand holds the options of the fleet command.
type FleetCommand struct {
	Window string `long:"window" description:"A further window besides 1d, 7d and 30d, such as 12h or lifetime"`
	JSON   bool   `long:"json" description:"Print the JSON fleet view instead of tables"`
}

// fleetView serves the fleet view of a daemon on the postgres store; nil
// on another store.
type fleetView struct {
	r *postgres.FleetReader
}

// newFleet returns the fleet view of --postgres.dsn, or nil on another
// store.
func newFleet(cfg *Config) (*fleetView, error) {
	if cfg.Store != storage.KindPostgres {
		return nil, nil
	}
	r, err := postgres.NewFleetReader(cfg.Postgres.DSN, 0)
	if err != nil {
		return nil, err
	}
	return &fleetView{r: r}, nil
}

// fn is what the HTTP server asks; nil without a fleet.
func (f *fleetView) fn() httpapi.FleetFunc {
	if f == nil {
		return nil
	}
	return f.r.View
}

// Close closes the fleet view's connection.
func (f *fleetView) Close() {
	if f != nil {
		_ = f.r.Close()
	}
}

// runFleet asks the daemon at cfg.Listen for the fleet view and prints
// it.
func runFleet(ctx context.Context, cfg *Config, stdout io.Writer) error {
	q := url.Values{}
	if cfg.Fleet.Window != "" {
		q.Set(httpapi.ParamWindow, cfg.Fleet.Window)
	}
	body, err := askDaemon(ctx, cfg, httpapi.PathFleet+"?"+q.Encode())
	if err != nil {
		return err
	}
	if cfg.Fleet.JSON {
		var buf bytes.Buffer
		if err := json.Indent(&buf, body, "", "  "); err != nil {
			return fmt.Errorf("fleet view from %s: %w", cfg.Listen,
				err)
		}
		_, err := buf.WriteTo(stdout)
		return err
	}
	var r fleet.Report
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("fleet view from %s: %w", cfg.Listen, err)
	}
	return writeFleet(stdout, r)
}

// askDaemon gets path from the daemon at cfg.Listen and returns the body
// of a 200 answer.
func askDaemon(ctx context.Context, cfg *Config, path string) ([]byte,
	error) {

	client, base, token, err := reportClient(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		base+path, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask chanfitness-lnd at %s (is it "+
			"running, with this --listen and --listen.insecure?): "+
			"%w", cfg.Listen, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReportSize))
	if err != nil {
		return nil, fmt.Errorf("read from %s: %w", cfg.Listen, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e httpapi.ErrorBody
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("chanfitness-lnd at %s: %s",
				cfg.Listen, e.Error)
		}
		return nil, fmt.Errorf("chanfitness-lnd at %s: %s", cfg.Listen,
			resp.Status)
	}
	return body, nil
}

// writeFleet prints the fleet view: our nodes, then one line per peer
// with its own availability and one indented line per link.
func writeFleet(w io.Writer, r fleet.Report) error {
	fmt.Fprintf(w, "generated %s, %d nodes, %d peers\n\n",
		r.GeneratedAt.Time.Format(time.RFC3339), len(r.Nodes),
		len(r.Peers))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tLIVE\tSEEN UNTIL\tPEERS")
	for _, n := range r.Nodes {
		fmt.Fprintf(tw, "%s\t%v\t%s\t%d\n", short(n.NodeID), n.Live,
			n.SeenUntil.Time.Format("2006-01-02 15:04"), n.Peers)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	names := windowNames(r)
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"PEER", "FROM"}
	for _, n := range names {
		head = append(head, "UP "+n)
	}
	for _, n := range names {
		head = append(head, "DOWN "+n)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, p := range r.Peers {
		row := []string{short(p.PeerID), "all"}
		for _, n := range names {
			row = append(row, pct(p.Windows[n].UptimeRatio))
		}
		for _, n := range names {
			row = append(row, dur(p.Windows[n].DownSeconds))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
		for _, l := range p.Links {
			row := []string{"", short(l.NodeID)}
			for _, n := range names {
				row = append(row, pct(l.Windows[n].UptimeRatio))
			}
			for _, n := range names {
				row = append(row, dur(l.Windows[n].LinkDownSeconds))
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\nDOWN on a peer's line: offline from "+
		"every node of ours at once (the peer was down); on a "+
		"node's line: offline from that node while online from "+
		"another (the link was down).")
	return err
}

// windowNames are the report's windows, the fleet's first.
func windowNames(r fleet.Report) []string {
	var names []string
	for _, w := range fleet.Windows {
		names = append(names, w.Name)
	}
	if len(r.Peers) == 0 {
		return names
	}
	var extra []string
	for n := range r.Peers[0].Windows {
		known := false
		for _, w := range fleet.Windows {
			known = known || w.Name == n
		}
		if !known {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	return append(names, extra...)
}

func short(id core.PeerID) string {
	return id.String()[:16]
}

func pct(r *float64) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", *r*100)
}

func dur(sec int64) string {
	d := time.Duration(sec) * time.Second
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%02dh", d/(24*time.Hour),
			d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", d/time.Hour,
			d%time.Hour/time.Minute)
	}
	return fmt.Sprintf("%dm%02ds", d/time.Minute, d%time.Minute/time.Second)
}
