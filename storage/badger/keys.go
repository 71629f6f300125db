package badgerstore

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// Key layout. Fixed-size binary keys, big-endian numbers so that keys sort
// in numeric order:
//
//	"\x00schema"                  schema version
//	"\x00applied"                 sequence number of the last batch applied
//	"\x00meta"                    core.Meta
//	"\x00store"                   the store's id (backup.go)
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
//	'r' <slot:2>                  a recent batch, whole (see ring.go)
var (
	schemaKey    = []byte("\x00schema")
	appliedKey   = []byte("\x00applied")
	metaKey      = []byte("\x00meta")
	sampleCutKey = []byte("\x00samplecut")
	storeIDKey   = []byte("\x00store")
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
	case k[0] == ringPrefix && len(k) == ringKeyLen:
		return fmt.Sprintf("recent/%d", binary.BigEndian.Uint16(k[1:]))
	case k[0] == 0:
		return string(k[1:])
	}
	return fmt.Sprintf("%q", k)
}
