package cln_test

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/stretchr/testify/require"
)

// readmeCLN returns the Core Lightning section of the README.
func readmeCLN(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	s := string(b)
	start := strings.Index(s, "\n## Core Lightning plugin\n")
	require.GreaterOrEqual(t, start, 0, "no Core Lightning section")
	s = s[start+1:]
	if end := strings.Index(s[3:], "\n## "); end >= 0 {
		s = s[:end+3]
	}
	return s
}

// codeBlockAfter returns the first fenced code block after marker.
func codeBlockAfter(t *testing.T, doc, marker string) string {
	t.Helper()
	i := strings.Index(doc, marker)
	require.GreaterOrEqual(t, i, 0, "README lacks %q", marker)
	m := regexp.MustCompile("(?s)```[a-z]*\n(.*?)```").FindStringSubmatch(
		doc[i:])
	require.NotNil(t, m, "no code block after %q", marker)
	return m[1]
}

// cutWindows keeps only the windows the README shows.
func cutWindows(t *testing.T, got, shown map[string]any) {
	t.Helper()
	for _, list := range []string{"channels", "peers"} {
		gl, _ := got[list].([]any)
		sl, _ := shown[list].([]any)
		require.Len(t, gl, len(sl), list)
		for i := range gl {
			gw := gl[i].(map[string]any)["windows"].(map[string]any)
			sw := sl[i].(map[string]any)["windows"].(map[string]any)
			for name := range gw {
				if _, ok := sw[name]; !ok {
					delete(gw, name)
				}
			}
		}
	}
}

// TestReadmeExample plays the README's example (a channel open for a
// day whose peer was offline for 90 minutes) and checks that the
// example output and the bad-argument error are what the plugin says.
func TestReadmeExample(t *testing.T) {
	doc := readmeCLN(t)
	a := lightningdtest.PeerID(1)
	p := startInProcess(t, inProcessOpts{
		setup: func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			c := lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal)
			// Funded a day (144 blocks) below the emulated
			// node's tip at 850000.
			c.ShortChannelID = "849856x1x1"
			n.AddChannel(c)
		},
	})
	p.advance(20 * time.Hour)
	p.Disconnect(a)
	p.advance(90 * time.Minute)
	p.Connect(a)
	p.advance(150 * time.Minute)

	r := p.CLI("chanfitness", a, "1d")
	require.Nil(t, r.Error)
	var got, shown map[string]any
	require.NoError(t, json.Unmarshal(r.Result, &got))
	block := codeBlockAfter(t, doc, "Example output")
	require.NoError(t, json.Unmarshal([]byte(block), &shown), block)
	cutWindows(t, got, shown)
	require.Equal(t, shown, got)

	const call = "$ lightning-cli chanfitness 02abc\n"
	block = codeBlockAfter(t, doc, "A bad argument")
	i := strings.Index(block, call)
	require.GreaterOrEqual(t, i, 0, "README lacks %q", call)
	var shownErr lightningdtest.RPCError
	dec := json.NewDecoder(bytes.NewReader([]byte(block[i+len(call):])))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&shownErr))
	r = p.CLI("chanfitness", "02abc")
	require.NotNil(t, r.Error)
	require.Equal(t, shownErr, *r.Error)
}

// TestReadmeDisabled checks the README's example of a bad option: the
// line the node logs (at UNUSUAL; lightningd's own "Killing plugin" line
// is at debug level) is what the plugin logs when it disables itself.
func TestReadmeDisabled(t *testing.T) {
	const prefix = "UNUSUAL plugin-chanfitness-cln: "
	block := codeBlockAfter(t, readmeCLN(t), "disables it at start-up")
	require.True(t, strings.HasPrefix(block, prefix), block)
	shown := strings.TrimSuffix(strings.TrimPrefix(block, prefix), "\n")

	p := startInProcess(t, inProcessOpts{
		values:   map[string]any{"chanfitness-store": "sqlite"},
		disabled: `"sqlite"`,
	})
	var logged []string
	for _, l := range p.Logs() {
		if l.Level == "unusual" {
			logged = append(logged, l.Message)
		}
	}
	require.Contains(t, logged, shown)
}
