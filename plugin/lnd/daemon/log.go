package daemon

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Log levels, most verbose first.
const (
	levelDebug = iota
	levelInfo
	levelWarn
	levelError
)

// parseLevel maps a --debuglevel value to a level.
func parseLevel(s string) (int, error) {
	switch s {
	case "debug":
		return levelDebug, nil
	case "info", "":
		return levelInfo, nil
	case "warn":
		return levelWarn, nil
	case "error":
		return levelError, nil
	}
	return 0, fmt.Errorf("debug level %q: want debug, info, warn or "+
		"error", s)
}

// logWriter serializes the lines of every subsystem logger.
type logWriter struct {
	mu    sync.Mutex
	w     io.Writer
	level int
	now   func() time.Time
}

// logger writes lines in lnd's format, "<time> [INF] <SUBS>: <message>".
// It implements core.Logger.
type logger struct {
	out  *logWriter
	subs string
}

func (l logger) write(level int, tag, format string, args []any) {
	if level < l.out.level {
		return
	}
	msg := fmt.Sprintf(format, args...)
	l.out.mu.Lock()
	defer l.out.mu.Unlock()
	fmt.Fprintf(l.out.w, "%s [%s] %s: %s\n",
		l.out.now().Format("2006-01-02 15:04:05.000"), tag, l.subs, msg)
}

// Debugf implements core.Logger.
func (l logger) Debugf(format string, args ...any) {
	l.write(levelDebug, "DBG", format, args)
}

// Infof implements core.Logger.
func (l logger) Infof(format string, args ...any) {
	l.write(levelInfo, "INF", format, args)
}

// Warnf implements core.Logger.
func (l logger) Warnf(format string, args ...any) {
	l.write(levelWarn, "WRN", format, args)
}

// Errorf implements core.Logger.
func (l logger) Errorf(format string, args ...any) {
	l.write(levelError, "ERR", format, args)
}
