package badgerstore

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/chanfitness/chanfitness/storage/internal/base"
)

// The acknowledgment file holds, outside badger's files, the sequence
// number of the last batch Write acknowledged and of the last one Sync
// made durable, with the boot the numbers were written in. It is two
// copies of one record, each ackRecordLen bytes: ackMagic, the boot id
// (16 bytes), the acknowledged and the synced sequence numbers
// (little-endian uint64) and a CRC-32C of what precedes it. Write
// rewrites both copies with one pwrite call, so that one damaged copy
// leaves the other.
const (
	ackName      = "chanfitness.ack"
	ackMagic     = "chfack\x00\x01"
	ackRecordLen = 64
	ackBodyLen   = len(ackMagic) + 16 + 8 + 8
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// bootID identifies one run of the operating system. Within one boot no
// write the page cache took can be lost, so a history shorter than what
// was acknowledged is damage; across a boot it may be an
// operating-system crash that lost what came after the last Sync.
type bootID [16]byte

// bootIDPath is where Linux publishes the boot id.
const bootIDPath = "/proc/sys/kernel/random/boot_id"

// currentBoot returns this boot's id, or the zero id where the system
// has none (every open then counts as a new boot). Tests replace it.
var currentBoot = sync.OnceValue(readBootID)

func readBootID() bootID {
	var id bootID
	b, err := os.ReadFile(bootIDPath)
	if err != nil {
		return id
	}
	h, err := hex.DecodeString(strings.ReplaceAll(
		strings.TrimSpace(string(b)), "-", ""))
	if err != nil || len(h) != len(id) {
		return id
	}
	copy(id[:], h)
	return id
}

// ackRecord is the content of the acknowledgment file.
type ackRecord struct {
	// valid is false for a store without one (a new store).
	valid  bool
	boot   bootID
	acked  uint64
	synced uint64
}

func (r *ackRecord) encode() []byte {
	b := make([]byte, ackRecordLen)
	copy(b, ackMagic)
	off := len(ackMagic)
	copy(b[off:], r.boot[:])
	off += len(r.boot)
	binary.LittleEndian.PutUint64(b[off:], r.acked)
	binary.LittleEndian.PutUint64(b[off+8:], r.synced)
	binary.LittleEndian.PutUint32(b[ackBodyLen:],
		crc32.Checksum(b[:ackBodyLen], crcTable))
	return b
}

func decodeAck(b []byte) (ackRecord, bool) {
	if len(b) < ackRecordLen || string(b[:len(ackMagic)]) != ackMagic ||
		binary.LittleEndian.Uint32(b[ackBodyLen:]) !=
			crc32.Checksum(b[:ackBodyLen], crcTable) {

		return ackRecord{}, false
	}
	r := ackRecord{valid: true}
	off := len(ackMagic)
	copy(r.boot[:], b[off:])
	off += len(r.boot)
	r.acked = binary.LittleEndian.Uint64(b[off:])
	r.synced = binary.LittleEndian.Uint64(b[off+8:])
	return r, true
}

// ackFile is the open acknowledgment file.
type ackFile struct {
	path string
	f    *os.File
	buf  []byte
}

// openAck opens (creating it if needed) the acknowledgment file of the
// store in dir and returns what it holds. A file whose two copies are
// both damaged fails with base.ErrCorrupt; a missing one is a new store's
// (checkAck tells them apart).
func openAck(dir string) (*ackFile, ackRecord, error) {
	path := filepath.Join(dir, ackName)
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOFOLLOW, 0)
	var rec ackRecord
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f, err = os.OpenFile(path,
			os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW,
			fileMode)
		if err != nil {
			return nil, rec, fmt.Errorf("create %s: %w", path, err)
		}
		return &ackFile{path: path, f: f}, rec, nil
	case err != nil:
		return nil, rec, fmt.Errorf("open %s: %w", path, err)
	}
	a := &ackFile{path: path, f: f}
	data, err := io.ReadAll(io.LimitReader(f, 4*ackRecordLen))
	if err != nil {
		_ = f.Close()
		return nil, rec, fmt.Errorf("read %s: %w", path, err)
	}
	r0, ok0 := decodeAck(data)
	var r1 ackRecord
	ok1 := false
	if len(data) >= 2*ackRecordLen {
		r1, ok1 = decodeAck(data[ackRecordLen:])
	}
	switch {
	case ok0 && ok1 && r1.acked > r0.acked:
		rec = r1
	case ok0:
		rec = r0
	case ok1:
		rec = r1
	default:
		_ = f.Close()
		return nil, rec, fmt.Errorf("%w: %s: %d bytes, no intact "+
			"record of the acknowledged batches", base.ErrCorrupt,
			path, len(data))
	}
	return a, rec, nil
}

// write records the acknowledged and synced sequence numbers, both
// copies in one pwrite call (no fsync: the page cache keeps it across a
// killed process, and across an operating-system crash the boot id
// changes).
func (a *ackFile) write(boot bootID, acked, synced uint64) error {
	r := ackRecord{boot: boot, acked: acked, synced: synced}
	one := r.encode()
	a.buf = append(append(a.buf[:0], one...), one...)
	if _, err := a.f.WriteAt(a.buf, 0); err != nil {
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	return nil
}

func (a *ackFile) close() error {
	if err := a.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", a.path, err)
	}
	return nil
}
