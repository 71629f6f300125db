package alert

import (
	"context"
	"slices"
	"strings"

	"github.com/chanfitness/chanfitness/core"
)

// deliver hands the pending alerts to their sinks, oldest first. A sink
// that fails takes nothing newer in this round, so that each sink gets
// the alerts in order; the alert is tried again after a backoff.
func (a *Alerter) deliver(ctx context.Context) error {
	now := a.cfg.Clock.Now()
	var due []core.AlertRecord
	for _, r := range a.recs {
		if len(r.Pending) > 0 {
			due = append(due, r)
		}
	}
	slices.SortFunc(due, func(x, y core.AlertRecord) int {
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(x.Key, y.Key)
	})

	blocked := make(map[string]bool)
	var put []core.AlertRecord
	var del []string
	for _, r := range due {
		// A retry due further off than the longest backoff was set
		// before the clock stepped back: it is due now.
		if r.NextAttempt.After(now) &&
			r.NextAttempt.Sub(now) <= maxRetry {
			for _, s := range r.Pending {
				blocked[s] = true
			}
			continue
		}
		var left []string
		failed := false
		for _, name := range r.Pending {
			sink, ok := a.sinks[name]
			switch {
			case !ok:
				// No longer configured: nothing to deliver to.
				continue
			case blocked[name] || ctx.Err() != nil:
				left = append(left, name)
				continue
			}
			if err := sink.Deliver(ctx, r.Body); err != nil {
				blocked[name], failed = true, true
				left = append(left, name)
				a.count(cFailed, name)
				a.cfg.Logger.Warnf("alert %s: %s: %v (tried %d "+
					"times)", r.Key, name, err, r.Attempts+1)
				continue
			}
			a.count(cDelivered, name)
		}
		if failed {
			r.Attempts++
			r.NextAttempt = now.Add(backoff(r.Attempts))
		}
		if slices.Equal(left, r.Pending) && !failed {
			continue
		}
		r.Pending = left
		if len(left) > 0 || strings.HasPrefix(r.Key, offlinePrefix) {
			// An offline alert stays, sent, while its outage lasts.
			put = append(put, r)
			continue
		}
		del = append(del, r.Key)
		if rest, ok := strings.CutPrefix(r.Key, backPrefix); ok {
			// Back is told: the outage is closed.
			del = append(del, offlinePrefix+rest)
		}
	}
	return a.put(ctx, put, del)
}
