package badgerstore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
)

// The write-ahead log file starts with walMagic; then come frames, each a
// little-endian uint32 body length, a little-endian uint32 CRC-32C of the
// body, and the body: recordVersion, the batch's sequence number as a
// uvarint, and the batch.
const (
	walName        = "chanfitness.wal"
	walMagic       = "chfwal\x00\x01"
	walHeaderLen   = len(walMagic)
	frameHeaderLen = 8
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// appendFrame appends the frame of batch b with sequence number lsn to buf.
func appendFrame(buf []byte, lsn uint64, b *core.Batch) []byte {
	start := len(buf)
	e := encoder{b: append(buf, make([]byte, frameHeaderLen)...)}
	e.byte(recordVersion)
	e.uvarint(lsn)
	e.batch(b)
	body := e.b[start+frameHeaderLen:]
	binary.LittleEndian.PutUint32(e.b[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(e.b[start+4:],
		crc32.Checksum(body, crcTable))
	return e.b
}

// nextFrame returns the body of the frame at the start of data and the
// frame's length, or ok false when data does not start with a whole,
// intact frame.
func nextFrame(data []byte) (body []byte, n int, ok bool) {
	if len(data) < frameHeaderLen {
		return nil, 0, false
	}
	size := int(binary.LittleEndian.Uint32(data))
	sum := binary.LittleEndian.Uint32(data[4:])
	if size == 0 || size > maxFrameBytes ||
		size > len(data)-frameHeaderLen {

		return nil, 0, false
	}
	body = data[frameHeaderLen : frameHeaderLen+size]
	if crc32.Checksum(body, crcTable) != sum {
		return nil, 0, false
	}
	return body, frameHeaderLen + size, true
}

// frameLSN reads only the sequence number of a frame body.
func frameLSN(body []byte) (uint64, bool) {
	d := decoder{b: body}
	d.version()
	lsn := d.uvarint()
	return lsn, d.err == nil
}

// decodeFrame reads a frame body into b and returns its sequence number.
func decodeFrame(body []byte, b *core.Batch) (uint64, error) {
	d := decoder{b: body}
	d.version()
	lsn := d.uvarint()
	d.batch(b)
	return lsn, d.end()
}

// wal is the write-ahead log file.
type wal struct {
	path string
	f    *os.File
	size int64
}

func openWAL(path string) (*wal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open write-ahead log: %w", err)
	}
	return &wal{path: path, f: f}, nil
}

// readAll returns the frames after the header, writing the header first
// if the file is new (or was cut short before its header was complete).
func (w *wal) readAll() ([]byte, error) {
	data, err := io.ReadAll(io.NewSectionReader(w.f, 0, 1<<62))
	if err != nil {
		return nil, fmt.Errorf("read write-ahead log %q: %w", w.path,
			err)
	}
	n := min(len(data), walHeaderLen)
	if n > 0 && allZero(data[:n]) {
		// A power loss can leave a file's unsynced blocks zero-filled.
		// Nothing in it was acknowledged as synced: replay treats the
		// whole log as damaged and drops it.
		w.size = int64(len(data))
		return make([]byte, len(data)-n), nil
	}
	if string(data[:n]) != walMagic[:n] {
		return nil, fmt.Errorf("%w: write-ahead log %q: unknown "+
			"format %q", ErrSchema, w.path, data[:n])
	}
	if n < walHeaderLen {
		return nil, w.truncate()
	}
	w.size = int64(len(data))
	return data[walHeaderLen:], nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// append writes frame with one write system call.
func (w *wal) append(frame []byte) error {
	n, err := w.f.Write(frame)
	if err != nil {
		return fmt.Errorf("append to write-ahead log %q: %w", w.path,
			err)
	}
	if n != len(frame) {
		return fmt.Errorf("append to write-ahead log %q: short write "+
			"(%d of %d bytes)", w.path, n, len(frame))
	}
	w.size += int64(n)
	return nil
}

// repair cuts off what a failed append may have left.
func (w *wal) repair() error {
	if err := w.f.Truncate(w.size); err != nil {
		return fmt.Errorf("repair write-ahead log %q after a failed "+
			"write: %w", w.path, err)
	}
	return nil
}

// truncate empties the log down to its header.
func (w *wal) truncate() error {
	if err := w.f.Truncate(0); err != nil {
		return fmt.Errorf("truncate write-ahead log %q: %w", w.path,
			err)
	}
	w.size = 0
	if err := w.append([]byte(walMagic)); err != nil {
		return err
	}
	return nil
}

func (w *wal) close() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close write-ahead log %q: %w", w.path, err)
	}
	return nil
}

// replay takes up the batches the write-ahead log holds beyond what badger
// has, in order, and moves them into badger. It stops at the first frame
// that is cut short or damaged, that does not follow its predecessor, or
// whose logs do not continue the stored ones: what follows was never
// acknowledged as synced, and the log is emptied after the move.
func (s *Store) replay() error {
	data, err := s.wal.readAll()
	if err != nil {
		return err
	}
	s.lsn = s.applied
	off := 0
	var b core.Batch
	for off < len(data) {
		body, n, ok := nextFrame(data[off:])
		if !ok {
			break
		}
		lsn, err := decodeFrame(body, &b)
		if err != nil {
			break
		}
		if lsn <= s.applied {
			// Moved into badger before a crash cut the truncation.
			off += n
			continue
		}
		if lsn != s.lsn+1 {
			break
		}
		if base.CheckLogs(&b, s.countFn) != nil {
			break
		}
		s.pending = append(s.pending, data[off:off+n]...)
		s.lsn = lsn
		for _, l := range b.Logs {
			s.counts[l.Peer] += uint64(len(l.Events))
		}
		off += n
	}
	if off < len(data) {
		s.log.Warnf("store %q: dropping %d bytes of write-ahead log "+
			"after batch %d: cut short or damaged by a crash",
			s.dir, len(data)-off, s.lsn)
	}
	if len(s.pending) > 0 {
		s.log.Infof("store %q: replayed batches %d to %d from the "+
			"write-ahead log", s.dir, s.applied+1, s.lsn)
	}
	if err := s.flush(); err != nil {
		return err
	}
	return s.wal.truncate()
}
