package core_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

// maxErrLen bounds a parse error's text whatever the input: the input is
// quoted whole only up to 72 bytes (at most 4 characters a byte once
// escaped), else by a 16-byte prefix.
const maxErrLen = 1000

func TestQuote(t *testing.T) {
	require.Equal(t, `"abc"`, core.Quote("abc"))
	id := "02" + strings.Repeat("ab", 32)
	require.Equal(t, `"`+id+`"`, core.Quote(id))
	s := strings.Repeat("0123456789", 7) + "ab"
	require.Equal(t, `"`+s+`"`, core.Quote(s))
	require.Equal(t, `"0123456789012345"…(73 bytes)`, core.Quote(s+"c"))
	require.Equal(t, `"\x00\n"`, core.Quote("\x00\n"))
	// A cut never splits a character: 15 bytes, then 3-byte "€"s.
	s = strings.Repeat("a", 15) + strings.Repeat("€", 20)
	require.Equal(t, `"aaaaaaaaaaaaaaa"…(75 bytes)`, core.Quote(s))
}

func TestParseWindow(t *testing.T) {
	for _, tc := range []struct {
		in, name string
		length   time.Duration
	}{
		{"", "lifetime", 0},
		{"lifetime", "lifetime", 0},
		{"1d", "1d", 24 * time.Hour},
		{"24h", "1d", 24 * time.Hour},
		{"1440m", "1d", 24 * time.Hour},
		{"168h", "7d", 7 * 24 * time.Hour},
		{"30d", "30d", 30 * 24 * time.Hour},
		{"720h", "30d", 30 * 24 * time.Hour},
		{"12h", "12h", 12 * time.Hour},
		{"90m", "1h30m", 90 * time.Minute},
		{"1h30m", "1h30m", 90 * time.Minute},
		{"5400s", "1h30m", 90 * time.Minute},
		{"0h90m", "1h30m", 90 * time.Minute},
		{"012h", "12h", 12 * time.Hour},
		{"36h", "1d12h", 36 * time.Hour},
		{"1m", "1m", time.Minute},
		{"60s", "1m", time.Minute},
		{"61s", "1m1s", 61 * time.Second},
		{"3650d", "3650d", core.MaxWindow},
		{"1d2h3m4s", "1d2h3m4s", 26*time.Hour + 3*time.Minute +
			4*time.Second},
	} {
		t.Run(tc.in, func(t *testing.T) {
			w, err := core.ParseWindow(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.name, w.Name)
			require.Equal(t, tc.length, w.Length)
		})
	}
}

func TestParseWindowRejects(t *testing.T) {
	for _, in := range []string{
		"0s", "59s", "0d", "3650d1s", "3651d", "87601h",
		"+1h", "-1h", " 1h", "1h ", "1H", "1.5h", "1h1h", "30m1h",
		"1d1d", "1", "h", "1x", "1ms", "1us", "1ns", "1w", "LIFETIME",
		"9223372036854775807ns", "9223372036854775807s",
		"99999999999d", "1000000000000000000000h",
		"1d" + strings.Repeat("0", 40) + "s",
		strings.Repeat("1h", 50000),
	} {
		t.Run(in[:min(len(in), 24)], func(t *testing.T) {
			_, err := core.ParseWindow(in)
			require.ErrorIs(t, err, core.ErrBadInput)
			require.Contains(t, err.Error(), "window")
			require.Less(t, len(err.Error()), maxErrLen)
		})
	}
}

func TestParsePeerIDQuotesShort(t *testing.T) {
	huge := strings.Repeat("ab", 1<<19)
	for _, in := range []string{huge, "02" + strings.Repeat("zz", 32),
		"04" + strings.Repeat("00", 32)} {
		_, err := core.ParsePeerID(in)
		require.ErrorIs(t, err, core.ErrBadInput)
		require.Contains(t, err.Error(), core.Quote(in))
		require.Less(t, len(err.Error()), maxErrLen)
	}
	_, err := core.ParsePeerID(huge)
	require.Contains(t, err.Error(), "(1048576 bytes)")
}

func TestParseChannelPointQuotesShort(t *testing.T) {
	txid := strings.Repeat("ab", 32)
	for _, in := range []string{strings.Repeat("x", 1<<20),
		strings.Repeat("x", 1<<20) + ":1", txid + ":" +
			strings.Repeat("9", 1<<20), strings.Repeat("zz", 32) + ":0"} {
		_, err := core.ParseChannelPoint(in)
		require.ErrorIs(t, err, core.ErrBadInput)
		require.Less(t, len(err.Error()), maxErrLen)
	}
}

// FuzzParseWindow: every accepted window is in range and its name is
// canonical (it parses back to itself); every error is short.
func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{"", "lifetime", "1d", "24h", "90m",
		"1h30m", "+1h", "1h1h", "9223372036854775807ns", "3650d",
		"3651d", "59s", "1.5h", "%zz"} {

		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := core.ParseWindow(s)
		if err != nil {
			require.ErrorIs(t, err, core.ErrBadInput)
			require.Less(t, len(err.Error()), maxErrLen)
			return
		}
		if w.Name == core.WindowLifetime {
			require.Zero(t, w.Length)
			return
		}
		require.GreaterOrEqual(t, w.Length, core.MinWindow)
		require.LessOrEqual(t, w.Length, core.MaxWindow)
		require.LessOrEqual(t, len(w.Name), 16)
		again, err := core.ParseWindow(w.Name)
		require.NoError(t, err)
		require.Equal(t, w, again)
	})
}

// FuzzParsePeerID: an accepted id prints back as its lower-case input;
// every error is short.
func FuzzParsePeerID(f *testing.F) {
	for _, s := range []string{"", "02", strings.Repeat("0", 66),
		"02" + strings.Repeat("ab", 32), "03" + strings.Repeat("AB", 32),
		"02" + strings.Repeat("zz", 32)} {

		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := core.ParsePeerID(s)
		if err != nil {
			require.ErrorIs(t, err, core.ErrBadInput)
			require.Less(t, len(err.Error()), maxErrLen)
			return
		}
		require.Equal(t, strings.ToLower(s), p.String())
	})
}
