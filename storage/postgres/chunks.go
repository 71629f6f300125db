package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	"github.com/jackc/pgx/v5"
)

// A peer's log is kept in chunks: rows of packed events, so that a
// history of millions of events loads as thousands of rows. A write
// appends a peer's events to its newest chunk while that one holds fewer
// than fanIn events (an update of one row, the common write of one
// event), else adds a chunk; once a peer's newest fanIn chunks are of one
// size class, the same transaction merges them into one chunk of the
// next class (in the server: the rows are concatenated), so a log of n
// events has at most fanIn chunks per class, O(log n) in all.

// eventSize is the packed size of an event: seconds (int8), nanoseconds
// (int4) and state (int2), big-endian, as PostgreSQL's int8send, int4send
// and int2send write them.
const eventSize = 14

// fanIn is how many chunks of one class merge into one of the next.
const fanIn = 32

// maxClass is the class whose chunks are never merged further.
const maxClass = 3

// class is the size class of a chunk of n events.
func class(n int) int {
	c := 0
	for limit := fanIn; n >= limit && c < maxClass; limit *= fanIn {
		c++
	}
	return c
}

// sqlChunks inserts chunks; sqlAppend appends $6 ($4 events, the last
// in second $5) to the chunk of a peer's log at seq $3, which must hold
// $7 events: a chunk missing or of another length is damage, and fails
// the write (on a text that is no number: SQL has no other way to raise
// an error) rather than lose the events; sqlMerge merges a peer's chunks
// from seq $3 on into one.
const (
	sqlAppend = `WITH u AS (UPDATE chanfitness_logs
			SET n = n + $4, last_s = $5, data = data || $6
			WHERE node = $1 AND peer = $2 AND seq = $3::bigint
			AND n = $7 RETURNING 1)
		SELECT CASE WHEN count(*) = 1 THEN 1 ELSE
			('table chanfitness_logs: the chunk at event ' ||
			$3::bigint || ' of peer ' || encode($2, 'hex') ||
			' is missing or damaged: restore the database ' ||
			'from a backup (' || count(*) || ')')::integer END
		FROM u`

	sqlChunks = `INSERT INTO chanfitness_logs
		(node, peer, seq, n, last_s, data)
		SELECT $1, * FROM unnest($2::bytea[], $3::bigint[],
			$4::integer[], $5::bigint[], $6::bytea[])`

	sqlMerge = `WITH d AS (DELETE FROM chanfitness_logs
			WHERE node = $1 AND peer = $2 AND seq >= $3
			RETURNING seq, n, last_s, data)
		INSERT INTO chanfitness_logs (node, peer, seq, n, last_s, data)
		SELECT $1, $2, $3, sum(n), max(last_s),
			string_agg(data, ''::bytea ORDER BY seq) FROM d`
)

// chunkLen is the length of the first chunk of n events laid out as
// merges leave them: a whole chunk of the largest class that fits, or
// all of n when it is below the smallest merged size.
func chunkLen(n int) int {
	size := 1
	for c := 0; c < maxClass; c++ {
		size *= fanIn
	}
	for ; size >= fanIn; size /= fanIn {
		if n >= size {
			return size
		}
	}
	return n
}

// firstFrom returns the index of the last packed event before second
// since (0 when none is), so that decoding from it keeps the state at
// since and everything after.
func firstFrom(data []byte, n int, since int64) int {
	k := sort.Search(n, func(i int) bool {
		return int64(binary.BigEndian.Uint64(
			data[i*eventSize:])) >= since
	})
	return max(k-1, 0)
}

// pack appends the packed events to dst.
func pack(dst []byte, evs []core.LogEvent) []byte {
	for _, ev := range evs {
		t := split(ev.Time)
		dst = binary.BigEndian.AppendUint64(dst, uint64(t.s))
		dst = binary.BigEndian.AppendUint32(dst, uint32(t.ns))
		dst = binary.BigEndian.AppendUint16(dst, uint16(ev.State))
	}
	return dst
}

// unpack appends the n events packed in data to dst.
func unpack(dst []core.LogEvent, data []byte, n int) ([]core.LogEvent,
	error) {

	if len(data) != n*eventSize {
		return dst, fmt.Errorf("%d bytes for %d events", len(data), n)
	}
	for i := 0; i < n; i++ {
		b := data[i*eventSize:]
		t := stamp{int64(binary.BigEndian.Uint64(b)),
			int32(binary.BigEndian.Uint32(b[8:]))}
		st := core.State(binary.BigEndian.Uint16(b[12:]))
		if st > core.StateUnknown || t.ns < 0 || t.ns >= 1e9 {
			return dst, fmt.Errorf("event %d does not decode", i)
		}
		dst = append(dst, core.LogEvent{Time: t.time(), State: st})
	}
	return dst, nil
}

// chunkPlan is what a write does to the logs: the chunks it inserts,
// the merges after them, and each touched peer's chunk sizes afterwards
// (applied to the store's counts once the write commits).
type chunkPlan struct {
	sizes map[core.PeerID][]int
}

// queueChunks queues one chunk per peer of logs (runs of the same peer
// are contiguous: CheckLogs saw to it) and the merges it makes due.
func (s *Store) queueChunks(q *pgx.Batch, logs []core.PeerLog) *chunkPlan {
	plan := &chunkPlan{sizes: make(map[core.PeerID][]int)}
	type run struct {
		seq  uint64
		evs  []core.LogEvent
		data []byte
	}
	var order []core.PeerID
	runs := make(map[core.PeerID]*run)
	for i := range logs {
		l := &logs[i]
		if len(l.Events) == 0 {
			continue
		}
		r, ok := runs[l.Peer]
		if !ok {
			r = &run{seq: l.Seq}
			runs[l.Peer] = r
			order = append(order, l.Peer)
		}
		r.data = pack(r.data, l.Events)
		r.evs = append(r.evs, l.Events...)
	}
	if len(order) == 0 {
		return plan
	}
	var peers [][]byte
	var seqs, lasts []int64
	var counts []int32
	var datas [][]byte
	for _, p := range order {
		r := runs[p]
		last := split(r.evs[len(r.evs)-1].Time).s
		sizes := s.chunks[p]
		if k := len(sizes); k > 0 && sizes[k-1] < fanIn {
			at := r.seq - uint64(sizes[k-1])
			q.Queue(sqlAppend, s.node, p[:], int64(at),
				int32(len(r.evs)), last, r.data,
				int32(sizes[k-1]))
			continue
		}
		peers, seqs = append(peers, p[:]), append(seqs, int64(r.seq))
		counts = append(counts, int32(len(r.evs)))
		lasts, datas = append(lasts, last), append(datas, r.data)
	}
	if len(peers) > 0 {
		q.Queue(sqlChunks, s.node, peers, seqs, counts, lasts, datas)
	}

	for _, p := range order {
		sizes := append([]int(nil), s.chunks[p]...)
		if k := len(sizes); k > 0 && sizes[k-1] < fanIn {
			sizes[k-1] += len(runs[p].evs)
		} else {
			sizes = append(sizes, len(runs[p].evs))
		}
		total := s.logLen[p] + uint64(len(runs[p].evs))
		for {
			k := len(sizes)
			if k < fanIn {
				break
			}
			c := class(sizes[k-1])
			if c >= maxClass {
				break
			}
			sum := 0
			same := true
			for _, sz := range sizes[k-fanIn:] {
				same = same && class(sz) == c
				sum += sz
			}
			if !same {
				break
			}
			first := total - uint64(sum)
			q.Queue(sqlMerge, s.node, p[:], int64(first))
			sizes = append(sizes[:k-fanIn], sum)
		}
		plan.sizes[p] = sizes
	}
	return plan
}

// apply records a committed write's chunks in the store's counts.
func (s *Store) apply(plan *chunkPlan) {
	for p, sizes := range plan.sizes {
		s.chunks[p] = sizes
		total := uint64(0)
		for _, n := range sizes {
			total += uint64(n)
		}
		s.logLen[p] = total
	}
}

// readChunks reads every peer's chunk sizes into the store's counts.
func (s *Store) readChunks(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `SELECT peer, seq, n FROM
		chanfitness_logs WHERE node = $1 ORDER BY peer, seq`, s.node)
	if err != nil {
		return err
	}
	clear(s.logLen)
	clear(s.chunks)
	var (
		peer []byte
		seq  int64
		n    int32
	)
	_, err = pgx.ForEachRow(rows, []any{&peer, &seq, &n}, func() error {
		var p core.PeerID
		if err := peerID(&p, peer, "chanfitness_logs"); err != nil {
			return err
		}
		if uint64(seq) != s.logLen[p] {
			return fmt.Errorf("%w: table chanfitness_logs: log of "+
				"peer %v has events from %d where %d belongs "+
				"(rows were removed): restore the database "+
				"from a backup", base.ErrCorrupt, p, seq,
				s.logLen[p])
		}
		s.chunks[p] = append(s.chunks[p], int(n))
		s.logLen[p] += uint64(n)
		return nil
	})
	return err
}
