package alert

import (
	"encoding/json"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// Verdict change alerts are damped: a peer whose figures sit on a
// threshold flips between two verdicts at every check, and each flip
// would alert. The alerter keeps the verdict it last told (or first
// saw) and, when the peer's verdict differs from it, since when it has
// differed; the change alerts, with the verdict the peer has then, once
// it has differed for VerdictAfter counting only monitored time. A
// return to the verdict told in the meantime clears it: nothing
// changed. So each peer alerts at most once per VerdictAfter. The
// report's verdict itself stays the plain rules' result
// (docs/alerts.md, "verdict_changed").

// away is the body of an awayPrefix record. The record's CreatedAt is
// the monitor's time the peer was first seen away from the verdict
// told.
type away struct {
	// Unmonitored is the report's unmonitored seconds then: the time
	// unmonitored since does not count.
	Unmonitored int64 `json:"unmonitored"`
}

// verdictChange returns the records to put and delete for p's verdict,
// and the alert due, if any.
func (a *Alerter) verdictChange(p core.PeerReport, r core.Report,
	now time.Time) (put []core.AlertRecord, del []string, due *Alert) {

	vk := verdictPrefix + p.PeerID
	ak := awayPrefix + p.PeerID
	told, known := a.recs[vk]
	rec, isAway := a.recs[ak]
	if known && string(told.Body) == p.Verdict {
		if isAway {
			// Back to the verdict told before it alerted.
			del = append(del, ak)
		}
		return nil, del, nil
	}
	tell := func() {
		put = append(put, core.AlertRecord{Key: vk,
			Body: []byte(p.Verdict), CreatedAt: now})
		if isAway {
			del = append(del, ak)
		}
	}
	// A first verdict, a change that does not alert, and a peer
	// without an open channel (nothing to act on) are taken at once.
	if !known || p.OpenChannels == 0 ||
		!notable(string(told.Body), p.Verdict) {

		tell()
		return put, del, nil
	}
	if a.cfg.VerdictAfter > 0 {
		held, ok := awayFor(rec, isAway, r, now)
		if !ok {
			b, err := json.Marshal(away{
				Unmonitored: r.UnmonitoredSeconds})
			if err != nil {
				return nil, nil, nil
			}
			put = append(put, core.AlertRecord{Key: ak, Body: b,
				CreatedAt: now})
			return put, nil, nil
		}
		if held < a.cfg.VerdictAfter {
			return nil, nil, nil
		}
	}
	tell()
	al := verdictAlert(changedPrefix+p.PeerID+"/"+unixKey(now), p,
		string(told.Body), now)
	return put, del, &al
}

// awayFor returns how long, in monitored time, the peer has been away
// from the verdict told according to rec; false when there is no
// usable record (none yet, a damaged one, or one the clock or a
// restored history put after now), which starts the count anew.
func awayFor(rec core.AlertRecord, ok bool, r core.Report,
	now time.Time) (time.Duration, bool) {

	if !ok || rec.CreatedAt.After(now) {
		return 0, false
	}
	var w away
	if err := json.Unmarshal(rec.Body, &w); err != nil ||
		w.Unmonitored > r.UnmonitoredSeconds {

		return 0, false
	}
	unmon := time.Duration(r.UnmonitoredSeconds-w.Unmonitored) *
		time.Second
	return max(now.Sub(rec.CreatedAt)-unmon, 0), true
}

// notable says whether a verdict change is worth an alert: not the end
// of too_new with nothing found, nor a return to too_new.
func notable(old, now string) bool {
	if now == core.VerdictTooNew {
		return false
	}
	return !(old == core.VerdictTooNew && now == core.VerdictOK)
}
