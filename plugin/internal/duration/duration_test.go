package duration

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name string
		in   string
		want time.Duration
		bad  bool
	}{
		{"zero", "0", 0, false},
		{"zero with a unit", "0s", 0, false},
		{"days", "90d", 90 * day, false},
		{"minutes", "5m", 5 * time.Minute, false},
		{"hours and minutes", "1h30m", 90 * time.Minute, false},
		{"as Go prints it", "5m0s", 5 * time.Minute, false},
		{"every unit", "1d2h3m4s", day + 2*time.Hour + 3*time.Minute +
			4*time.Second, false},
		{"seconds", "300s", 300 * time.Second, false},
		{"empty", "", 0, true},
		{"bare number", "300", 0, true},
		{"fraction", "1.5h", 0, true},
		{"sign", "-5m", 0, true},
		{"plus", "+5m", 0, true},
		{"milliseconds", "300ms", 0, true},
		{"unit twice", "1h1h", 0, true},
		{"wrong order", "30m1h", 0, true},
		{"weeks", "2w", 0, true},
		{"upper case", "5M", 0, true},
		{"space", "5 m", 0, true},
		{"unit alone", "d", 0, true},
		{"overflow", "999999999999d", 0, true},
		{"overflow in the sum", "106751d23h47m17s", 0, true},
		{"long", strings.Repeat("1", 40) + "s", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.bad {
				require.ErrorIs(t, err, ErrSyntax)
				q := tc.in
				if len(q) > 16 {
					q = q[:16]
				}
				require.ErrorContains(t, err, q)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0"},
		{-time.Second, "0"},
		{time.Millisecond, "0"},
		{90 * 24 * time.Hour, "90d"},
		{90 * time.Minute, "1h30m"},
		{time.Minute, "1m"},
		{24*time.Hour + time.Second, "1d1s"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, Format(tc.in))
			if tc.in > time.Second {
				back, err := Parse(tc.want)
				require.NoError(t, err)
				require.Equal(t, tc.in, back)
			}
		})
	}
}

func TestFlag(t *testing.T) {
	var f Flag
	require.NoError(t, f.UnmarshalFlag("90d"))
	require.Equal(t, Flag(90*24*time.Hour), f)
	s, err := f.MarshalFlag()
	require.NoError(t, err)
	require.Equal(t, "90d", s)
	require.ErrorIs(t, f.UnmarshalFlag("1.5h"), ErrSyntax)
	require.Equal(t, Flag(90*24*time.Hour), f, "unchanged on error")
}
