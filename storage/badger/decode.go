package badgerstore

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// decoder reads what encoder wrote. The first failure sticks: later reads
// return zero values, and err says what failed where.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d of %d", errDecode, what,
			d.off, len(d.b))
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || d.off >= len(d.b) {
		d.fail("truncated")
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad unsigned varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) take(n int) []byte {
	if d.err != nil || n < 0 || len(d.b)-d.off < n {
		d.fail("truncated")
		return nil
	}
	v := d.b[d.off : d.off+n]
	d.off += n
	return v
}

// count reads a number of elements that each take at least one byte, so a
// corrupt count cannot make the caller allocate more than the input size.
func (d *decoder) count() int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)-d.off) {
		d.fail(fmt.Sprintf("count %d exceeds the data", n))
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count()
	return string(d.take(n))
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= uint64(time.Second) {
		d.fail(fmt.Sprintf("nanoseconds %d out of range", nsec))
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) version() {
	if v := d.byte(); d.err == nil && v != recordVersion {
		d.fail(fmt.Sprintf("record version %d, want %d", v,
			recordVersion))
	}
}

// end fails unless every byte was read.
func (d *decoder) end() error {
	if d.err == nil && d.off != len(d.b) {
		d.fail("trailing bytes")
	}
	return d.err
}

func (d *decoder) alert(key string) core.AlertRecord {
	d.version()
	a := core.AlertRecord{Key: key}
	if n := d.count(); n > 0 {
		a.Body = slices.Clone(d.take(n))
	}
	a.CreatedAt = d.time()
	if n := d.count(); n > 0 {
		a.Pending = make([]string, 0, min(n, 64))
		for i := 0; i < n && d.err == nil; i++ {
			a.Pending = append(a.Pending, d.string())
		}
	}
	a.Attempts = int(d.varint())
	a.NextAttempt = d.time()
	return a
}

func (d *decoder) meta() core.Meta {
	d.version()
	return core.Meta{MonitoringSince: d.time(), Heartbeat: d.time()}
}

func (d *decoder) gap() core.Gap {
	d.version()
	return core.Gap{Start: d.time(), End: d.time()}
}

// sample reads a sample's value; its time is in the key.
func (d *decoder) sample(t time.Time) core.PeerSample {
	d.version()
	p := core.PeerSample{Peer: d.peerID(), Time: t}
	p.Kind = core.SampleKind(d.byte())
	if d.err == nil && (p.Kind < core.SamplePing ||
		p.Kind > core.SampleConnectFail) {

		d.fail(fmt.Sprintf("unknown sample kind %d", p.Kind))
	}
	p.RTT = time.Duration(d.varint())
	return p
}

func (d *decoder) filled() core.FilledSpan {
	d.version()
	f := core.FilledSpan{Start: d.time(), End: d.time()}
	flags := d.byte()
	if flags&^1 != 0 {
		d.fail(fmt.Sprintf("unknown filled span flags %#x", flags))
	}
	f.Backfill = flags&1 != 0
	return f
}

func (d *decoder) peer(p core.PeerID) core.PeerRecord {
	d.version()
	flags := d.byte()
	if flags&^(peerOnline|peerStaged) != 0 {
		d.fail(fmt.Sprintf("unknown peer flags %#x", flags))
	}
	rec := core.PeerRecord{
		Peer:         p,
		Online:       flags&peerOnline != 0,
		TrackedSince: d.time(),
		StateSince:   d.time(),
		FlapCount:    int(d.varint()),
		LastFlap:     d.time(),
		LastEvent:    d.time(),
	}
	if flags&peerStaged != 0 {
		rec.Staged = &core.LogEvent{
			Time:  d.time(),
			State: core.State(d.byte()),
		}
	}
	return rec
}

func (d *decoder) channel(cp core.ChannelPoint) core.ChannelRecord {
	d.version()
	flags := d.byte()
	if flags&^(channelFrozen|channelOpenInfo) != 0 {
		d.fail(fmt.Sprintf("unknown channel flags %#x", flags))
	}
	c := core.ChannelRecord{Point: cp}
	copy(c.Peer[:], d.take(len(c.Peer)))
	c.ShortChannelID = d.string()
	c.OpenedAt = d.time()
	c.ClosedAt = d.time()
	if flags&channelOpenInfo != 0 {
		c.NodeOpenedAt = d.time()
		c.OpenedAtSource = core.OpenedAtSource(d.byte())
		if c.OpenedAtSource > core.OpenedAtEstimated {
			d.fail(fmt.Sprintf("unknown open time source %d",
				c.OpenedAtSource))
		}
		h := d.uvarint()
		if h > math.MaxUint32 {
			d.fail(fmt.Sprintf("funding height %d out of range", h))
		}
		c.FundingHeight = uint32(h)
	}
	if flags&channelFrozen == 0 {
		return c
	}
	n := d.count()
	c.Frozen = make(map[string]core.WindowNumbers, n)
	for i := 0; i < n && d.err == nil; i++ {
		name := d.string()
		c.Frozen[name] = core.WindowNumbers{
			Monitored: time.Duration(d.varint()),
			Uptime:    time.Duration(d.varint()),
		}
	}
	return c
}

// events appends a run of log events to evs.
func (d *decoder) events(evs []core.LogEvent) []core.LogEvent {
	n := d.count()
	evs = slices.Grow(evs, n)
	var sec int64
	for i := 0; i < n && d.err == nil; i++ {
		sec += d.varint()
		nsec := d.uvarint()
		st := core.State(d.byte())
		if nsec >= uint64(time.Second) {
			d.fail(fmt.Sprintf("nanoseconds %d out of range", nsec))
		}
		evs = append(evs, core.LogEvent{
			Time:  time.Unix(sec, int64(nsec)).UTC(),
			State: st,
		})
	}
	return evs
}

// segmentLen reads only the number of events of a log segment value.
func (d *decoder) segmentLen() uint64 {
	d.version()
	return uint64(d.count())
}

func (d *decoder) segment(evs []core.LogEvent) []core.LogEvent {
	d.version()
	return d.events(evs)
}

func (d *decoder) peerID() core.PeerID {
	var p core.PeerID
	copy(p[:], d.take(len(p)))
	return p
}

func (d *decoder) point() core.ChannelPoint {
	var cp core.ChannelPoint
	copy(cp.Txid[:], d.take(len(cp.Txid)))
	if b := d.take(4); b != nil {
		cp.Index = binary.BigEndian.Uint32(b)
	}
	return cp
}

// batch reads a batch into b, which it resets first. Everything in b is
// freshly allocated.
func (d *decoder) batch(b *core.Batch) {
	*b = core.Batch{}
	flags := d.byte()
	if flags&^(batchMeta|batchSamples|batchAlerts) != 0 {
		d.fail(fmt.Sprintf("unknown batch flags %#x", flags))
	}
	if flags&batchMeta != 0 {
		m := d.meta()
		b.Meta = &m
	}
	if n := d.count(); n > 0 {
		b.Gaps = make([]core.Gap, n)
		for i := 0; i < n && d.err == nil; i++ {
			b.Gaps[i] = d.gap()
		}
	}
	if n := d.count(); n > 0 {
		b.Peers = make([]core.PeerRecord, n)
		for i := 0; i < n && d.err == nil; i++ {
			b.Peers[i] = d.peer(d.peerID())
		}
	}
	if n := d.count(); n > 0 {
		b.Logs = make([]core.PeerLog, n)
		for i := 0; i < n && d.err == nil; i++ {
			l := &b.Logs[i]
			l.Peer = d.peerID()
			l.Seq = d.uvarint()
			l.Events = d.events(nil)
		}
	}
	if n := d.count(); n > 0 {
		b.Channels = make([]core.ChannelRecord, n)
		for i := 0; i < n && d.err == nil; i++ {
			b.Channels[i] = d.channel(d.point())
		}
	}
	if n := d.count(); n > 0 {
		b.DeleteChannels = make([]core.ChannelPoint, n)
		for i := 0; i < n && d.err == nil; i++ {
			b.DeleteChannels[i] = d.point()
		}
	}
	if flags&batchSamples != 0 {
		d.batchSamples(b)
	}
	if flags&batchAlerts == 0 {
		return
	}
	if n := d.count(); n > 0 {
		b.Alerts = make([]core.AlertRecord, n)
		for i := 0; i < n && d.err == nil; i++ {
			b.Alerts[i] = d.alert(d.string())
		}
	}
	if n := d.count(); n > 0 {
		b.DeleteAlerts = make([]string, n)
		for i := 0; i < n && d.err == nil; i++ {
			b.DeleteAlerts[i] = d.string()
		}
	}
}

// batchSamples reads a batch's sample cut, samples and filled spans.
func (d *decoder) batchSamples(b *core.Batch) {
	b.DeleteSamplesBefore = d.time()
	if n := d.count(); n > 0 {
		b.Samples = make([]core.PeerSample, n)
		for i := 0; i < n && d.err == nil; i++ {
			b.Samples[i] = d.sample(d.time())
		}
	}
	if n := d.count(); n > 0 {
		b.Filled = make([]core.FilledSpan, n)
		for i := 0; i < n && d.err == nil; i++ {
			b.Filled[i] = d.filled()
		}
	}
}
