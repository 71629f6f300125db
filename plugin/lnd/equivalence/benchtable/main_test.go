package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want result
		ok   bool
	}{{
		name: "ns/op",
		line: "BenchmarkIngestRealistic/lnd-2   447496   2520 ns/op" +
			"   362 B/op   6 allocs/op",
		want: result{"IngestRealistic", "lnd", 2520, "ns/op"},
		ok:   true,
	}, {
		name: "custom metric wins",
		line: "BenchmarkMemoryPerEvent/ours+memstore-2   3   " +
			"451987916 ns/op   68.65 B/event   81738074 B/op   " +
			"400381 allocs/op",
		want: result{"MemoryPerEvent", "ours+memstore", 68.65,
			"B/event"},
		ok: true,
	}, {
		name: "nested workload, no procs suffix",
		line: "BenchmarkChannelInfo/1000000/ours  7697602  162.1 ns/op",
		want: result{"ChannelInfo/1000000", "ours", 162.1, "ns/op"},
		ok:   true,
	}, {
		name: "other variant",
		line: "BenchmarkQueryHistory1M/ChannelInfo-2  100  12 ns/op",
	}, {
		name: "no variant",
		line: "BenchmarkApplyMemory-2  100  12 ns/op",
	}, {
		name: "not a result",
		line: "BenchmarkChannelInfo/100/lnd-2",
	}, {
		name: "log line",
		line: "ok  github.com/x 25.659s",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseLine(tc.line)
			require.Equal(t, tc.ok, ok)
			if ok {
				require.Equal(t, tc.want, got)
			}
		})
	}
}

const sample = `goos: linux
pkg: github.com/chanfitness/chanfitness/core
BenchmarkApplyMemory-2   	 100	  900 ns/op
pkg: github.com/chanfitness/chanfitness/plugin/lnd/equivalence
BenchmarkIngestRealistic/lnd-2   	  447496	      2520 ns/op	     362 B/op	       6 allocs/op
BenchmarkIngestRealistic/ours-2  	 1378306	       840.0 ns/op	     297 B/op	       2 allocs/op
BenchmarkIngestRealistic/ours+badger-2  273274	      3780 ns/op	    1384 B/op	      16 allocs/op
BenchmarkChannelInfo/1000000/lnd-2       	      40	  41474541 ns/op
BenchmarkChannelInfo/1000000/ours-2      	 7697602	       162.1 ns/op
BenchmarkMemoryPerEvent/lnd-2    	       2	 700630680 ns/op	        41.46 B/event
BenchmarkMemoryPerEvent/ours-2   	       6	 186717294 ns/op	        50.00 B/event
BenchmarkMemoryPerEvent/ours-2   	       6	 186717294 ns/op	        40.00 B/event
BenchmarkMemoryFlapStorm/1ms/lnd-2   	       1	2535208152 ns/op	     20272 B-held
BenchmarkMemoryFlapStorm/1ms/ours-2  	       4	 367920057 ns/op	      4080 B-held
PASS
ok  	github.com/chanfitness/chanfitness/plugin/lnd/equivalence	25.659s
`

func TestRun(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(strings.NewReader(sample), &out))
	got := out.String()
	require.True(t, strings.HasPrefix(got, sample), "input copied")

	want := `
| workload                                          |          lnd |         ours | ratio lnd/ours | goal         |
| ------------------------------------------------- | -----------: | -----------: | -------------: | ------------ |
| ingest, realistic mix (per event)                 |      2.52 µs |       840 ns |          3.00x | >= 2x met    |
| ingest, realistic mix (per event) [badger store]  |      2.52 µs |      3.78 µs |          0.67x |              |
| channel info, 10^6 committed events               |      41.5 ms |       162 ns |        255858x | >= 100x met  |
| memory per committed event                        | 41.5 B/event | 45.0 B/event |          0.92x | >= 1x MISSED |
| memory after 10^6 flaps 1 ms apart (rate-limited) |     19.8 KiB |     3.98 KiB |          4.97x |              |
`
	require.Equal(t, want, got[len(sample):])
}

func TestRunFailures(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  error
	}{
		{name: "test failure", input: sample + "--- FAIL: TestX\n",
			want: errFailed},
		{name: "build failure",
			input: "FAIL\tgithub.com/x [build failed]\n",
			want:  errFailed},
		{name: "panic", input: "panic: boom\n", want: errFailed},
		{name: "no pairs", input: "BenchmarkX-2  1  5 ns/op\n",
			want: errNoPairs},
		{name: "lnd without ours",
			input: "BenchmarkX/lnd-2  1  5 ns/op\n",
			want:  errNoPairs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			err := run(strings.NewReader(tc.input), &out)
			require.ErrorIs(t, err, tc.want)
			require.True(t, strings.HasPrefix(out.String(),
				tc.input))
		})
	}
}
