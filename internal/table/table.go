// Package table renders a chanfitness report as text tables, for the
// front ends' command lines and the demo.
package table

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// Write writes a report as two readable tables, peers then channels.
func Write(w io.Writer, r core.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "generated %s, monitoring since %s, unmonitored %s, "+
		"node connected: %v", r.GeneratedAt.UTC().Format(time.RFC3339),
		r.MonitoringSince.UTC().Format(time.RFC3339),
		FormatSeconds(r.UnmonitoredSeconds), r.NodeConnected)
	if s := r.LastClockStep; s != nil {
		dir, size := "forward", s.Seconds
		if size < 0 {
			dir, size = "back", -size
		}
		fmt.Fprintf(tw, ", clock steps: %d (last %s %s at %s)",
			r.ClockSteps, dir, FormatSeconds(size),
			s.At.UTC().Format(time.RFC3339))
	}
	fmt.Fprint(tw, "\n\n")

	cols := []string{core.Window1d, core.Window7d, core.Window30d,
		core.WindowLifetime}
	if r.Window != "" && !isPreset(r.Window) {
		cols = append(cols, r.Window)
	}
	head := r.Window
	if head == "" {
		head = core.WindowLifetime
	}

	fmt.Fprint(tw, "PEER\tSTATE\tSINCE")
	for _, c := range cols {
		fmt.Fprintf(tw, "\tUP %s", c)
	}
	fmt.Fprintf(tw, "\tFLAPS\tDECAYED\tOUTAGE %s\tCHANNELS\tVERDICT\n",
		head)
	for _, p := range r.Peers {
		state := "offline"
		if p.Online {
			state = "online"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s", shortID(p.PeerID), state,
			p.Since.UTC().Format("2006-01-02 15:04"))
		for _, c := range cols {
			fmt.Fprintf(tw, "\t%s", FormatRatio(p.Windows[c].UptimeRatio))
		}
		fmt.Fprintf(tw, "\t%d\t%d\t%s\t%d\t%s\n", p.FlapCount,
			p.FlapCountDecayed,
			FormatSeconds(p.Windows[head].LongestOutageSeconds),
			p.OpenChannels, p.Verdict)
	}

	fmt.Fprintf(tw, "\nCHANNEL\tPEER\tSTATUS\tAGE\tLIFETIME\tUPTIME\t"+
		"UP %s\n", head)
	marks := map[string]bool{}
	for _, c := range r.Channels {
		marks[c.OpenedAtSource] = true
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			shortPoint(c.ChannelPoint), shortID(c.PeerID), c.Status,
			FormatAge(c.AgeSeconds, c.OpenedAtSource),
			FormatSeconds(c.LifetimeSeconds),
			FormatRatio(c.UptimeRatio),
			FormatRatio(c.Windows[head].UptimeRatio))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes strings.Builder
	if marks["node"] {
		notes.WriteString("* opened before the monitor saw it: age " +
			"from the node's record\n")
	}
	if marks["estimated"] {
		notes.WriteString("~ opened before the monitor saw it: age " +
			"estimated from the funding block\n")
	}
	if notes.Len() > 0 {
		_, err := fmt.Fprintf(w, "\n%s", notes.String())
		return err
	}
	return nil
}

// FormatAge renders a channel's age for tables, marked by where its open
// time comes from (opened_at_source): "~51d02h" when estimated, "51d02h*"
// when the node gave it, unmarked when the monitor saw the channel open.
func FormatAge(s int64, source string) string {
	switch source {
	case "estimated":
		return "~" + FormatSeconds(s)
	case "node":
		return FormatSeconds(s) + "*"
	}
	return FormatSeconds(s)
}

func isPreset(name string) bool {
	for _, w := range core.PresetWindows() {
		if w.Name == name {
			return true
		}
	}
	return false
}

func shortID(id string) string {
	if len(id) > 16 {
		return id[:16]
	}
	return id
}

func shortPoint(cp string) string {
	for i := len(cp) - 1; i >= 0; i-- {
		if cp[i] == ':' && i > 16 {
			return cp[:12] + "…" + cp[i:]
		}
	}
	return cp
}

// FormatRatio renders an optional ratio as a percentage for tables.
func FormatRatio(r *float64) string {
	if r == nil {
		return "-"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", *r*100), ".0") + "%"
}

// FormatSeconds renders whole seconds compactly: "0s", "42s", "3m12s",
// "5h02m", "12d03h".
func FormatSeconds(s int64) string {
	switch {
	case s < 60:
		return strconv.FormatInt(s, 10) + "s"
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}

// WriteAdvice writes one line per peer, worst first, with its verdict,
// state, open channels and why.
func WriteAdvice(w io.Writer, advice []core.Advice) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "VERDICT\tPEER\tSTATE\tCHANNELS\tWHY\n")
	for _, a := range advice {
		state := "offline"
		if a.Online {
			state = "online"
		}
		why := a.Why
		if why == "" {
			why = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", a.Verdict, a.PeerID,
			state, a.OpenChannels, why)
	}
	return tw.Flush()
}

// AdviceLines returns WriteAdvice's lines without their line ends.
func AdviceLines(advice []core.Advice) []string {
	var b strings.Builder
	_ = WriteAdvice(&b, advice)
	return strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
}
