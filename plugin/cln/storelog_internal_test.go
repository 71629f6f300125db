package cln

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// recLogger records lines as "<method> <message>".
type recLogger struct {
	lines []string
}

func (r *recLogger) add(m, format string, args []any) {
	r.lines = append(r.lines, m+" "+fmt.Sprintf(format, args...))
}

func (r *recLogger) Debugf(f string, a ...any) { r.add("debug", f, a) }
func (r *recLogger) Infof(f string, a ...any)  { r.add("info", f, a) }
func (r *recLogger) Warnf(f string, a ...any)  { r.add("warn", f, a) }
func (r *recLogger) Errorf(f string, a ...any) { r.add("error", f, a) }

// TestStoreLogger: the store's debug lines are dropped, its errors reach
// the node as warnings ("unusual"), never as "broken".
func TestStoreLogger(t *testing.T) {
	var rec recLogger
	l := storeLogger{&rec}
	l.Debugf("badger: %d entries written", 3)
	l.Infof("store %s opened", "x")
	l.Warnf("badger: %s", "w")
	l.Errorf("badger: %s", "e")
	require.Equal(t, []string{"info store x opened", "warn badger: w",
		"warn badger: e"}, rec.lines)
}
