package badgerstore

import (
	"encoding/binary"
	"errors"
	"slices"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// Every record value and every write-ahead log entry starts with a format
// version byte, so that a later format can be told from this one.
const recordVersion = 1

// errDecode is wrapped by every decoding failure; the store turns it into
// base.ErrCorrupt with the key or log position that failed.
var errDecode = errors.New("malformed record")

// encoder appends the binary form of records to b.
type encoder struct {
	b []byte
}

func (e *encoder) byte(v byte) {
	e.b = append(e.b, v)
}

func (e *encoder) uvarint(v uint64) {
	e.b = binary.AppendUvarint(e.b, v)
}

func (e *encoder) varint(v int64) {
	e.b = binary.AppendVarint(e.b, v)
}

func (e *encoder) bytes(v []byte) {
	e.b = append(e.b, v...)
}

func (e *encoder) string(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// time writes seconds since 1970 and nanoseconds: the instant only, so a
// time loads in UTC without a monotonic reading. The zero time round-trips
// to the zero time.
func (e *encoder) time(t time.Time) {
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

func (e *encoder) meta(m *core.Meta) {
	e.byte(recordVersion)
	e.time(m.MonitoringSince)
	e.time(m.Heartbeat)
}

func (e *encoder) gap(g *core.Gap) {
	e.byte(recordVersion)
	e.time(g.Start)
	e.time(g.End)
}

// sample writes a sample's value: what its key (its time) does not hold.
func (e *encoder) sample(p *core.PeerSample) {
	e.byte(recordVersion)
	e.bytes(p.Peer[:])
	e.byte(byte(p.Kind))
	e.varint(int64(p.RTT))
}

// fullSample writes a sample with its time (in a batch).
func (e *encoder) fullSample(p *core.PeerSample) {
	e.time(p.Time)
	e.sample(p)
}

func (e *encoder) filled(f *core.FilledSpan) {
	e.byte(recordVersion)
	e.time(f.Start)
	e.time(f.End)
	var flags byte
	if f.Backfill {
		flags |= 1
	}
	e.byte(flags)
}

const (
	peerOnline = 1 << iota
	peerStaged
)

// peer writes a peer record without its id (which is in the key).
func (e *encoder) peer(p *core.PeerRecord) {
	e.byte(recordVersion)
	var flags byte
	if p.Online {
		flags |= peerOnline
	}
	if p.Staged != nil {
		flags |= peerStaged
	}
	e.byte(flags)
	e.time(p.TrackedSince)
	e.time(p.StateSince)
	e.varint(int64(p.FlapCount))
	e.time(p.LastFlap)
	e.time(p.LastEvent)
	if p.Staged != nil {
		e.time(p.Staged.Time)
		e.byte(byte(p.Staged.State))
	}
}

const (
	channelFrozen = 1 << iota
	// channelOpenInfo: the node's open time, its source and the funding
	// height follow the close time.
	channelOpenInfo
)

// channel writes a channel record without its point (which is in the key).
func (e *encoder) channel(c *core.ChannelRecord) {
	e.byte(recordVersion)
	var flags byte
	if c.Frozen != nil {
		flags |= channelFrozen
	}
	openInfo := !c.NodeOpenedAt.IsZero() ||
		c.OpenedAtSource != core.OpenedAtUnknown || c.FundingHeight != 0
	if openInfo {
		flags |= channelOpenInfo
	}
	e.byte(flags)
	e.bytes(c.Peer[:])
	e.string(c.ShortChannelID)
	e.time(c.OpenedAt)
	e.time(c.ClosedAt)
	if openInfo {
		e.time(c.NodeOpenedAt)
		e.byte(byte(c.OpenedAtSource))
		e.uvarint(uint64(c.FundingHeight))
	}
	if c.Frozen == nil {
		return
	}
	names := make([]string, 0, len(c.Frozen))
	for name := range c.Frozen {
		names = append(names, name)
	}
	slices.Sort(names)
	e.uvarint(uint64(len(names)))
	for _, name := range names {
		w := c.Frozen[name]
		e.string(name)
		e.varint(int64(w.Monitored))
		e.varint(int64(w.Uptime))
	}
}

// events writes a run of log events: their number, then each event's
// seconds as a difference from the previous event's, its nanoseconds and
// its state. An event costs about eight bytes.
func (e *encoder) events(evs []core.LogEvent) {
	e.uvarint(uint64(len(evs)))
	var prev int64
	for i := range evs {
		sec := evs[i].Time.Unix()
		e.varint(sec - prev)
		e.uvarint(uint64(evs[i].Time.Nanosecond()))
		e.byte(byte(evs[i].State))
		prev = sec
	}
}

// segment writes a log segment value.
func (e *encoder) segment(evs []core.LogEvent) {
	e.byte(recordVersion)
	e.events(evs)
}

// alert writes an alert record without its key (which is in the key).
func (e *encoder) alert(a *core.AlertRecord) {
	e.byte(recordVersion)
	e.uvarint(uint64(len(a.Body)))
	e.bytes(a.Body)
	e.time(a.CreatedAt)
	e.uvarint(uint64(len(a.Pending)))
	for _, p := range a.Pending {
		e.string(p)
	}
	e.varint(int64(a.Attempts))
	e.time(a.NextAttempt)
}

const (
	batchMeta = 1 << iota
	// batchSamples: the sample cut, the samples and the filled spans
	// follow the deleted channels.
	batchSamples
	// batchAlerts: the alert records (each its key, then the record as
	// the store keeps it) and the deleted alerts' keys come last.
	// Backups of earlier versions have none; an earlier build fails on
	// the flag rather than drop the alerts.
	batchAlerts
)

// batch writes a whole batch (a write-ahead log entry's body).
func (e *encoder) batch(b *core.Batch) {
	var flags byte
	if b.Meta != nil {
		flags |= batchMeta
	}
	extra := !b.DeleteSamplesBefore.IsZero() || len(b.Samples) > 0 ||
		len(b.Filled) > 0
	if extra {
		flags |= batchSamples
	}
	alerts := len(b.Alerts) > 0 || len(b.DeleteAlerts) > 0
	if alerts {
		flags |= batchAlerts
	}
	e.byte(flags)
	if b.Meta != nil {
		e.meta(b.Meta)
	}
	e.uvarint(uint64(len(b.Gaps)))
	for i := range b.Gaps {
		e.gap(&b.Gaps[i])
	}
	e.uvarint(uint64(len(b.Peers)))
	for i := range b.Peers {
		e.bytes(b.Peers[i].Peer[:])
		e.peer(&b.Peers[i])
	}
	e.uvarint(uint64(len(b.Logs)))
	for i := range b.Logs {
		l := &b.Logs[i]
		e.bytes(l.Peer[:])
		e.uvarint(l.Seq)
		e.events(l.Events)
	}
	e.uvarint(uint64(len(b.Channels)))
	for i := range b.Channels {
		e.point(b.Channels[i].Point)
		e.channel(&b.Channels[i])
	}
	e.uvarint(uint64(len(b.DeleteChannels)))
	for _, cp := range b.DeleteChannels {
		e.point(cp)
	}
	if extra {
		e.time(b.DeleteSamplesBefore)
		e.uvarint(uint64(len(b.Samples)))
		for i := range b.Samples {
			e.fullSample(&b.Samples[i])
		}
		e.uvarint(uint64(len(b.Filled)))
		for i := range b.Filled {
			e.filled(&b.Filled[i])
		}
	}
	if !alerts {
		return
	}
	e.uvarint(uint64(len(b.Alerts)))
	for i := range b.Alerts {
		e.string(b.Alerts[i].Key)
		e.alert(&b.Alerts[i])
	}
	e.uvarint(uint64(len(b.DeleteAlerts)))
	for _, k := range b.DeleteAlerts {
		e.string(k)
	}
}

func (e *encoder) point(cp core.ChannelPoint) {
	e.bytes(cp.Txid[:])
	e.b = binary.BigEndian.AppendUint32(e.b, cp.Index)
}
