// Command benchtable reads `go test -bench` output on standard input,
// copies it to standard output, and ends it with a table that sets each
// lnd benchmark of package equivalence beside ours:
//
//	go test -run '^$' -bench . -benchmem ./... | benchtable
//
// A benchmark named <workload>/lnd pairs with <workload>/ours and with any
// <workload>/ours+<variant>. Each row shows the benchmark's headline
// figure (its single custom metric, else ns/op) for both, and the ratio
// lnd/ours: above 1 means ours is faster or smaller. benchtable exits with
// status 1 when the input reports a failure or holds no pair.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	// errFailed is returned when the benchmark output reports a failure.
	errFailed = errors.New("benchmark run failed")

	// errNoPairs is returned when no lnd/ours pair was found.
	errNoPairs = errors.New("no lnd/ours benchmark pair in the input")
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

// run copies in to out, then writes the table.
func run(in io.Reader, out io.Writer) error {
	res := newResults()
	failed := false
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if _, err := fmt.Fprintln(out, line); err != nil {
			return err
		}
		if isFailure(line) {
			failed = true
		}
		if r, ok := parseLine(line); ok {
			res.add(r)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read benchmark output: %w", err)
	}

	rows := res.rows()
	if len(rows) > 0 {
		_, err := io.WriteString(out, "\n"+formatTable(rows))
		if err != nil {
			return err
		}
	}
	switch {
	case failed:
		return errFailed
	case len(rows) == 0:
		return errNoPairs
	}
	return nil
}

// isFailure reports whether a line of `go test` output reports a failure.
func isFailure(line string) bool {
	return strings.HasPrefix(line, "FAIL") ||
		strings.HasPrefix(line, "--- FAIL") ||
		strings.HasPrefix(line, "panic:")
}

// result is one benchmark line's headline figure.
type result struct {
	workload, variant string
	value             float64
	unit              string
}

// procSuffix is the -GOMAXPROCS suffix go test appends to names.
var procSuffix = regexp.MustCompile(`-\d+$`)

// standardUnits are the units go test reports for every benchmark.
var standardUnits = map[string]bool{
	"ns/op": true, "B/op": true, "allocs/op": true, "MB/s": true,
}

// parseLine parses "BenchmarkW/variant-2  N  v unit  v unit ...". It
// returns false for any other line and for benchmarks whose last name
// element is neither lnd nor ours[+variant].
func parseLine(line string) (result, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") ||
		len(f)%2 != 0 {

		return result{}, false
	}
	if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
		return result{}, false
	}
	name := procSuffix.ReplaceAllString(
		strings.TrimPrefix(f[0], "Benchmark"), "")
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return result{}, false
	}
	r := result{workload: name[:i], variant: name[i+1:]}
	if r.variant != "lnd" && r.variant != "ours" &&
		!strings.HasPrefix(r.variant, "ours+") {

		return result{}, false
	}

	found := false
	for j := 2; j+1 < len(f); j += 2 {
		v, err := strconv.ParseFloat(f[j], 64)
		if err != nil {
			return result{}, false
		}
		unit := f[j+1]
		switch {
		case !standardUnits[unit]:
			// The custom metric wins over ns/op.
			return result{r.workload, r.variant, v, unit}, true
		case unit == "ns/op" && !found:
			r.value, r.unit, found = v, unit, true
		}
	}
	return r, found
}

// results gathers figures by workload and variant, in input order.
type results struct {
	order    []string
	variants map[string][]string
	sums     map[[2]string]float64
	counts   map[[2]string]int
	units    map[[2]string]string
}

func newResults() *results {
	return &results{
		variants: make(map[string][]string),
		sums:     make(map[[2]string]float64),
		counts:   make(map[[2]string]int),
		units:    make(map[[2]string]string),
	}
}

func (rs *results) add(r result) {
	k := [2]string{r.workload, r.variant}
	if _, ok := rs.variants[r.workload]; !ok {
		rs.order = append(rs.order, r.workload)
	}
	if rs.counts[k] == 0 {
		rs.variants[r.workload] = append(rs.variants[r.workload],
			r.variant)
	}
	rs.sums[k] += r.value
	rs.counts[k]++
	rs.units[k] = r.unit
}

// mean returns the mean of a workload's variant over repeated runs.
func (rs *results) mean(workload, variant string) (float64, string, bool) {
	k := [2]string{workload, variant}
	n := rs.counts[k]
	if n == 0 {
		return 0, "", false
	}
	return rs.sums[k] / float64(n), rs.units[k], true
}

// row is one line of the table.
type row struct {
	workload  string
	lnd, ours string
	ratio     float64
	goal      string
}

func (rs *results) rows() []row {
	var out []row
	for _, w := range rs.order {
		lv, lu, ok := rs.mean(w, "lnd")
		if !ok {
			continue
		}
		for _, v := range rs.variants[w] {
			if v == "lnd" {
				continue
			}
			ov, ou, _ := rs.mean(w, v)
			if ou != lu {
				continue
			}
			r := row{
				workload: describe(w, v),
				lnd:      formatValue(lv, lu),
				ours:     formatValue(ov, ou),
				ratio:    math.NaN(),
			}
			if ov > 0 && lv > 0 {
				r.ratio = lv / ov
			}
			if g, ok := goals[w]; ok && v == "ours" {
				r.goal = goalText(g, r.ratio)
			}
			out = append(out, r)
		}
	}
	return out
}

// descriptions name the workloads of package equivalence.
var descriptions = map[string]string{
	"IngestRealistic":     "ingest, realistic mix (per event)",
	"IngestFlapStorm":     "ingest, one peer flapping (per event)",
	"ChannelInfo/100":     "channel info, 10^2 committed events",
	"ChannelInfo/10000":   "channel info, 10^4 committed events",
	"ChannelInfo/1000000": "channel info, 10^6 committed events",
	"MemoryPerEvent":      "memory per committed event",
	"Report5000":          "report, 5,000 channels (lnd: query loop)",

	"MemoryFlapStorm/1ms": "memory after 10^6 flaps 1 ms apart " +
		"(rate-limited)",
	"MemoryFlapStorm/committed": "memory after 10^6 flaps, each " +
		"committed",
}

// variantNames name the variants of ours besides the default.
var variantNames = map[string]string{
	"ours+badger":   "badger store",
	"ours+memstore": "with memory store",
}

func describe(workload, variant string) string {
	d, ok := descriptions[workload]
	if !ok {
		d = workload
	}
	if variant == "ours" {
		return d
	}
	n, ok := variantNames[variant]
	if !ok {
		n = strings.TrimPrefix(variant, "ours+")
	}
	return d + " [" + n + "]"
}

// goals are the minimum ratios lnd/ours the project aims at.
var goals = map[string]float64{
	"IngestRealistic":     2,
	"IngestFlapStorm":     2,
	"ChannelInfo/1000000": 100,
	"MemoryPerEvent":      1,

	"MemoryFlapStorm/committed": 1,
}

func goalText(min, ratio float64) string {
	s := ">= " + strconv.FormatFloat(min, 'f', -1, 64) + "x"
	if ratio >= min {
		return s + " met"
	}
	return s + " MISSED"
}

// formatValue renders a figure: ns/op as a duration, byte units ("B",
// "B/event", "B-held") with a binary prefix and any "/..." suffix,
// anything else with its unit.
func formatValue(v float64, unit string) string {
	switch {
	case unit == "ns/op":
		return formatDuration(v)
	case strings.HasPrefix(unit, "B/"):
		return formatBytes(v) + unit[1:]
	case unit == "B" || strings.HasPrefix(unit, "B-"):
		return formatBytes(v)
	}
	return strconv.FormatFloat(v, 'g', 3, 64) + " " + unit
}

func formatDuration(ns float64) string {
	units := []struct {
		name string
		size float64
	}{
		{"s", float64(time.Second)},
		{"ms", float64(time.Millisecond)},
		{"µs", float64(time.Microsecond)},
	}
	for _, u := range units {
		if ns >= u.size {
			return sig3(ns/u.size) + " " + u.name
		}
	}
	return sig3(ns) + " ns"
}

func formatBytes(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB"}
	i := 0
	for math.Abs(b) >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	return sig3(b) + " " + units[i]
}

// sig3 renders v with three significant digits, without an exponent.
func sig3(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func formatRatio(r float64) string {
	switch {
	case math.IsNaN(r):
		return "-"
	case r >= 1000:
		return strconv.FormatFloat(r, 'f', 0, 64) + "x"
	}
	return sig3(r) + "x"
}

// formatTable renders rows as a Markdown table with aligned columns.
func formatTable(rows []row) string {
	cells := [][]string{{"workload", "lnd", "ours", "ratio lnd/ours",
		"goal"}}
	for _, r := range rows {
		cells = append(cells, []string{r.workload, r.lnd, r.ours,
			formatRatio(r.ratio), r.goal})
	}
	width := make([]int, len(cells[0]))
	for _, c := range cells {
		for i, s := range c {
			width[i] = max(width[i], len([]rune(s)))
		}
	}
	var b strings.Builder
	line := func(c []string) {
		b.WriteString("|")
		for i, s := range c {
			pad := strings.Repeat(" ", width[i]-len([]rune(s)))
			if i == 0 || i == len(c)-1 {
				b.WriteString(" " + s + pad + " |")
			} else {
				b.WriteString(" " + pad + s + " |")
			}
		}
		b.WriteString("\n")
	}
	line(cells[0])
	sep := make([]string, len(width))
	for i, w := range width {
		sep[i] = strings.Repeat("-", w)
		if i > 0 && i < len(width)-1 {
			sep[i] = strings.Repeat("-", w-1) + ":"
		}
	}
	line(sep)
	for _, c := range cells[1:] {
		line(c)
	}
	return b.String()
}
