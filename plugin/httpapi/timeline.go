package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// serveTimeline answers GET /v1/timeline?peer=&window=: the segments of
// one peer, or of every peer the report lists, over the window (lifetime
// when left out). Its query is the report's.
func serveTimeline(w http.ResponseWriter, r *http.Request, m Monitor) {
	q, err := ParseReportQuery(r.URL.RawQuery)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorBody{err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	tl, err := m.Timeline(ctx, core.TimelineQuery{Peer: q.Peer,
		Window: q.Window})
	if err != nil {
		writeJSON(w, statusOf(err), ErrorBody{err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(appendTimeline(make([]byte, 0, 4096), tl))
}

// appendTimeline appends tl as encoding/json writes it (and a newline,
// as json.Encoder does), several times faster: a thousand segments of
// reflection and validated Marshaler output would cost more than finding
// them.
func appendTimeline(b []byte, tl core.Timeline) []byte {
	b = append(b, `{"generated_at":`...)
	b = appendTime(b, tl.GeneratedAt)
	b = append(b, `,"window":`...)
	b = appendString(b, tl.Window)
	b = append(b, `,"start":`...)
	b = appendTime(b, tl.Start)
	b = append(b, `,"end":`...)
	b = appendTime(b, tl.End)
	b = append(b, `,"resolution_seconds":`...)
	b = appendFloat(b, tl.ResolutionSeconds)
	b = append(b, `,"peers":[`...)
	for i := range tl.Peers {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendPeerTimeline(b, &tl.Peers[i])
	}
	return append(b, "]}\n"...)
}

// appendPeerTimeline appends one peer of /v1/timeline's JSON.
func appendPeerTimeline(b []byte, p *core.PeerTimeline) []byte {
	b = append(b, `{"peer_id":`...)
	b = appendString(b, p.PeerID)
	b = append(b, `,"segments":`...)
	b = appendSegments(b, p.Segments)
	b = append(b, `,"channels":`...)
	b = appendChannelMarks(b, p.Channels)
	b = append(b, `,"outage_count":`...)
	b = strconv.AppendInt(b, int64(p.OutageCount), 10)
	b = appendOutages(b, p.Outages)
	return append(b, '}')
}

// appendSegments appends a peer's segments, null when it has none.
func appendSegments(b []byte, segs []core.Segment) []byte {
	if segs == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for j, s := range segs {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"start":`...)
			b = appendTime(b, s.Start)
			b = append(b, `,"end":`...)
			b = appendTime(b, s.End)
			b = append(b, `,"state":`...)
			b = appendString(b, s.State)
			if s.Flaps != 0 {
				b = append(b, `,"flaps":`...)
				b = strconv.AppendInt(b, int64(s.Flaps), 10)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return b
}

// appendChannelMarks appends a peer's channel marks, null when it has
// none.
func appendChannelMarks(b []byte, marks []core.ChannelMark) []byte {
	if marks == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for j, c := range marks {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"channel_point":`...)
			b = appendString(b, c.ChannelPoint)
			b = append(b, `,"opened_at":`...)
			b = appendTime(b, c.OpenedAt)
			b = append(b, `,"closed_at":`...)
			b = appendTime(b, c.ClosedAt)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return b
}

// appendOutages appends a peer's outages, nothing when it has none.
func appendOutages(b []byte, outs []core.Outage) []byte {
	if len(outs) > 0 {
		b = append(b, `,"outages":[`...)
		for j, o := range outs {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"start":`...)
			b = appendTime(b, o.Start)
			b = append(b, `,"end":`...)
			b = appendTime(b, o.End)
			b = append(b, `,"ongoing":`...)
			b = strconv.AppendBool(b, o.Ongoing)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return b
}

// appendTime appends t as core.Time's MarshalJSON writes it.
func appendTime(b []byte, t core.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' ||
			c == '\\' || c == '<' || c == '>' || c == '&' {

			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendFloat appends f as encoding/json writes a float64.
func appendFloat(b []byte, f float64) []byte {
	q, _ := json.Marshal(f)
	return append(b, q...)
}
