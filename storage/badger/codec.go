package badgerstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// Every record value and every write-ahead log entry starts with a format
// version byte, so that a later format can be told from this one.
const recordVersion = 1

// Key layout. Fixed-size binary keys, big-endian numbers so that keys sort
// in numeric order:
//
//	"\x00schema"                  schema version
//	"\x00applied"                 sequence number of the last batch applied
//	"\x00meta"                    core.Meta
//	'g' <index:8>                 one gap, in write order
//	'p' <peer:33>                 core.PeerRecord
//	'l' <peer:33> <seq:8>         a segment of a peer's log starting at seq
//	'c' <txid:32> <index:4>       core.ChannelRecord
//	'a' <key>                     core.AlertRecord (key: its Key)
//	"\x00samplecut"               samples before this time are deleted
//	's' <sec:8> <nsec:4> <lsn:8> <i:4>
//	                              a core.PeerSample at sec.nsec, the
//	                              i-th of batch lsn (sec biased by 2^63)
//	'f' <lsn:8> <i:4>             a core.FilledSpan, the i-th of batch lsn
var (
	schemaKey    = []byte("\x00schema")
	appliedKey   = []byte("\x00applied")
	metaKey      = []byte("\x00meta")
	sampleCutKey = []byte("\x00samplecut")
)

const (
	gapPrefix     = 'g'
	peerPrefix    = 'p'
	logPrefix     = 'l'
	channelPrefix = 'c'
	alertPrefix   = 'a'
	samplePrefix  = 's'
	filledPrefix  = 'f'

	gapKeyLen     = 1 + 8
	peerKeyLen    = 1 + 33
	logKeyLen     = 1 + 33 + 8
	channelKeyLen = 1 + 32 + 4
	sampleKeyLen  = 1 + 8 + 4 + 8 + 4
	filledKeyLen  = 1 + 8 + 4
)

// errDecode is wrapped by every decoding failure; the store turns it into
// base.ErrCorrupt with the key or log position that failed.
var errDecode = errors.New("malformed record")

func gapKey(i uint64) []byte {
	k := make([]byte, gapKeyLen)
	k[0] = gapPrefix
	binary.BigEndian.PutUint64(k[1:], i)
	return k
}

func peerKey(p core.PeerID) []byte {
	k := make([]byte, peerKeyLen)
	k[0] = peerPrefix
	copy(k[1:], p[:])
	return k
}

func logKey(p core.PeerID, seq uint64) []byte {
	k := make([]byte, logKeyLen)
	k[0] = logPrefix
	copy(k[1:], p[:])
	binary.BigEndian.PutUint64(k[34:], seq)
	return k
}

func channelKey(cp core.ChannelPoint) []byte {
	k := make([]byte, channelKeyLen)
	k[0] = channelPrefix
	copy(k[1:], cp.Txid[:])
	binary.BigEndian.PutUint32(k[33:], cp.Index)
	return k
}

func alertKey(key string) []byte {
	k := make([]byte, 1+len(key))
	k[0] = alertPrefix
	copy(k[1:], key)
	return k
}

// sampleKey keys the i-th sample of batch lsn by its time first, so that
// samples load in time order and old ones are a range of keys.
func sampleKey(t time.Time, lsn uint64, i uint32) []byte {
	k := make([]byte, sampleKeyLen)
	k[0] = samplePrefix
	binary.BigEndian.PutUint64(k[1:], uint64(t.Unix())^1<<63)
	binary.BigEndian.PutUint32(k[9:], uint32(t.Nanosecond()))
	binary.BigEndian.PutUint64(k[13:], lsn)
	binary.BigEndian.PutUint32(k[21:], i)
	return k
}

// sampleKeyTime returns the time in a sample key.
func sampleKeyTime(k []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(k[1:]) ^ 1<<63)
	return time.Unix(sec, int64(binary.BigEndian.Uint32(k[9:]))).UTC()
}

func filledKey(lsn uint64, i uint32) []byte {
	k := make([]byte, filledKeyLen)
	k[0] = filledPrefix
	binary.BigEndian.PutUint64(k[1:], lsn)
	binary.BigEndian.PutUint32(k[9:], i)
	return k
}

// keyString names a key in an error message.
func keyString(k []byte) string {
	if len(k) == 0 {
		return "<empty key>"
	}
	switch {
	case k[0] == gapPrefix && len(k) == gapKeyLen:
		return fmt.Sprintf("gap/%d", binary.BigEndian.Uint64(k[1:]))
	case k[0] == peerPrefix && len(k) == peerKeyLen:
		return fmt.Sprintf("peer/%x", k[1:])
	case k[0] == logPrefix && len(k) == logKeyLen:
		return fmt.Sprintf("log/%x/%d", k[1:34],
			binary.BigEndian.Uint64(k[34:]))
	case k[0] == channelPrefix && len(k) == channelKeyLen:
		var cp core.ChannelPoint
		copy(cp.Txid[:], k[1:33])
		cp.Index = binary.BigEndian.Uint32(k[33:])
		return "channel/" + cp.String()
	case k[0] == alertPrefix:
		return fmt.Sprintf("alert/%q", k[1:])
	case k[0] == samplePrefix && len(k) == sampleKeyLen:
		return fmt.Sprintf("sample/%s/%d/%d",
			sampleKeyTime(k).Format(time.RFC3339Nano),
			binary.BigEndian.Uint64(k[13:]),
			binary.BigEndian.Uint32(k[21:]))
	case k[0] == filledPrefix && len(k) == filledKeyLen:
		return fmt.Sprintf("filled/%d/%d", binary.BigEndian.Uint64(k[1:]),
			binary.BigEndian.Uint32(k[9:]))
	case k[0] == 0:
		return string(k[1:])
	}
	return fmt.Sprintf("%q", k)
}

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
	if !extra {
		return
	}
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

func (e *encoder) point(cp core.ChannelPoint) {
	e.bytes(cp.Txid[:])
	e.b = binary.BigEndian.AppendUint32(e.b, cp.Index)
}

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
	if flags&^(batchMeta|batchSamples) != 0 {
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
	if flags&batchSamples == 0 {
		return
	}
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
