package badgerstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	bdb "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"
)

// Badger's file formats, as far as the checks before Open read them.
const (
	manifestName = "MANIFEST"
	tableExt     = ".sst"
	memExt       = ".mem"

	// manifestMagic starts the manifest; a change set follows as its
	// big-endian length, the big-endian CRC-32C of its bytes, and its
	// bytes.
	manifestMagic = "Bdgr"

	// memHeaderLen is the header of a memtable file; entries follow,
	// each a header (meta and user-meta bytes, key length, value length
	// and expiry as uvarints), key, value and the big-endian CRC-32C of
	// the three. An all-zero header ends the entries.
	memHeaderLen = 20

	// maxMemEntry is more than any entry badger writes for the store
	// (keys are short; values over 64 KiB go to the value log): a
	// process killed while writing an entry leaves no data further than
	// this beyond its start.
	maxMemEntry = 128 << 10
)

// fileScan is what the checks found that only the history's length can
// judge: memtable files whose last entry does not check.
type fileScan struct {
	suspects []string
}

// checkFiles checks badger's files in dir before badger opens them (and
// may cut short or delete what it cannot read): every table's checksums,
// the manifest's change sets, and every memtable file's entries. A damage
// found fails with an error wrapping base.ErrCorrupt that names the file.
// sameBoot says no operating-system crash happened since the store last
// wrote, so a manifest cut short is damage, not an interrupted write.
func checkFiles(dir string, sameBoot bool) (*fileScan, error) {
	if err := openDBDir(dir); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	scan := &fileScan{}
	var mems []string
	tables := 0
	hasManifest, manifestEmpty := false, false
	manifestPath := ""
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case strings.HasSuffix(name, tableExt):
			tables++
			if err := checkTable(path); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", base.ErrCorrupt,
					path, err)
			}
		case name == manifestName:
			hasManifest = true
			manifestPath = path
			if manifestEmpty, err = checkManifest(path,
				sameBoot); err != nil {

				return nil, fmt.Errorf("%w: %s: %v", base.ErrCorrupt,
					path, err)
			}
		case strings.HasSuffix(name, memExt):
			mems = append(mems, name)
		}
	}
	switch {
	case tables > 0 && !hasManifest:
		return nil, fmt.Errorf("%w: %s: missing, while %s holds %d "+
			"tables", base.ErrCorrupt, filepath.Join(dir, manifestName),
			dir, tables)
	case tables > 0 && manifestEmpty:
		return nil, fmt.Errorf("%w: %s: empty, while %s holds %d "+
			"tables", base.ErrCorrupt, manifestPath, dir, tables)
	}
	// Only the newest memtable file is written to; an older one cannot
	// have been cut short by a killed process.
	slices.SortFunc(mems, func(a, b string) int {
		return memID(a) - memID(b)
	})
	for i, name := range mems {
		path := filepath.Join(dir, name)
		bad, trailing, err := checkMem(path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if bad == 0 {
			return nil, fmt.Errorf("%w: %s: shorter than its "+
				"header", base.ErrCorrupt, path)
		}
		if bad < 0 {
			continue
		}
		if trailing || i < len(mems)-1 {
			return nil, fmt.Errorf("%w: %s: the entry at byte %d "+
				"does not check and entries follow it",
				base.ErrCorrupt, path, bad)
		}
		scan.suspects = append(scan.suspects, fmt.Sprintf(
			"%s (the entry at byte %d does not check)", path, bad))
	}
	return scan, nil
}

func memID(name string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(name, memExt))
	return n
}

// checkTable reads a table as badger would, verifying its checksums. A
// table too damaged to parse makes badger's reader panic (or fault): both
// are caught here and reported.
func checkTable(path string) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.Size() == 0 {
		return errors.New("empty")
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(info.Size()),
		syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return err
	}
	defer func() { _ = syscall.Munmap(data) }()

	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unreadable table: %v", r)
		}
	}()
	_, err = table.OpenTable(&z.MmapFile{Data: data, Fd: f},
		table.Options{ChkMode: options.OnTableRead})
	return err
}

// checkManifest checks every change set of the manifest. A manifest cut
// short in its last change set is what an operating-system crash during
// badger's append may leave, and is damage otherwise.
// It reports whether the manifest is empty.
func checkManifest(path string, sameBoot bool) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	if len(data) == 0 {
		// Badger writes the header when it creates the file; a
		// crash before that leaves an empty file, and so does
		// truncation: the tables then tell (checkFiles).
		return true, nil
	}
	if len(data) < 8 || string(data[:4]) != manifestMagic {
		return false, errors.New("no manifest header")
	}
	for off := 8; off < len(data); {
		var n int
		if len(data)-off >= 8 {
			n = int(binary.BigEndian.Uint32(data[off:]))
		}
		if len(data)-off < 8 || n > len(data)-off-8 {
			if sameBoot {
				return false, fmt.Errorf("cut short in the "+
					"change set at byte %d", off)
			}
			return false, nil
		}
		sum := binary.BigEndian.Uint32(data[off+4:])
		if crc32.Checksum(data[off+8:off+8+n], crcTable) != sum {
			return false, fmt.Errorf("the change set at byte %d "+
				"does not check", off)
		}
		off += 8 + n
	}
	return false, nil
}

// checkMem walks the entries of a memtable file. It returns the offset of
// the first entry that does not check (-1 when all do), and whether data
// follows further than a killed write can have left.
func checkMem(path string) (bad int64, trailing bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false, err
	}
	if len(data) < memHeaderLen {
		// Shorter than the header badger writes when it creates the
		// file: badger cannot open it.
		return 0, true, nil
	}
	off := memHeaderLen
	for {
		n, ok, end := memEntry(data[off:])
		if end {
			return -1, false, nil
		}
		if !ok {
			rest := data[min(len(data), off+maxMemEntry):]
			return int64(off), !allZero(rest), nil
		}
		off += n
	}
}

// memEntry checks the entry at the start of b: its length, whether it
// checks, and whether b holds no entry (an all-zero header, or the end).
func memEntry(b []byte) (n int, ok, end bool) {
	if len(b) < 2 {
		return 0, false, allZero(b)
	}
	h := 2
	var lens [3]uint64
	for i := range lens {
		v, k := binary.Uvarint(b[h:])
		if k <= 0 {
			return 0, false, allZero(b[:min(len(b), 16)])
		}
		lens[i] = v
		h += k
	}
	if b[0] == 0 && b[1] == 0 && lens == [3]uint64{} {
		return 0, false, true
	}
	kl, vl := lens[0], lens[1]
	if kl > 1<<16 || vl > uint64(len(b)) ||
		uint64(len(b)-h-4) < kl+vl {

		return 0, false, false
	}
	body := h + int(kl+vl)
	sum := crc32.Checksum(b[:body], crcTable)
	if binary.BigEndian.Uint32(b[body:]) != sum {
		return 0, false, false
	}
	return body + 4, true, false
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// openBadger opens the badger database in dir. An error that is not the
// file system's (permissions, space) means a damaged file and wraps
// base.ErrCorrupt.
func openBadger(dir string, log core.Logger) (*bdb.DB, error) {
	db, err := bdb.Open(badgerOptions(dir, log))
	if err == nil {
		return db, nil
	}
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ENOSPC) ||
		errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EIO) {
		return nil, fmt.Errorf("badger: %w", err)
	}
	path := dir
	msg := err.Error()
	lower := strings.ToLower(msg)
	if m := missingTable.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		path = filepath.Join(dir, fmt.Sprintf("%06d%s", n, tableExt))
	} else if strings.Contains(lower, "key registry") ||
		strings.Contains(lower, "encryption key") ||
		strings.Contains(lower, "sanity text") {

		path = filepath.Join(dir, keyRegistryName)
	}
	return nil, fmt.Errorf("%w: %s: badger cannot open it: %v",
		base.ErrCorrupt, path, err)
}

// keyRegistryName is badger's file of encryption keys (the store uses
// none, but badger checks the file).
const keyRegistryName = "KEYREGISTRY"

// missingTable matches badger's error for a table the manifest lists
// but the directory lacks.
var missingTable = regexp.MustCompile(`file does not exist for table (\d+)`)

// checkAck compares the history badger holds (up to batch applied) with
// the acknowledgment record. A store without a record is new or was
// written by an earlier version; a shorter history than what was synced,
// or than what was acknowledged within this boot, is damage.
func (s *Store) checkAck(rec ackRecord, applied uint64, fresh, sameBoot bool,
	scan *fileScan) error {

	path := filepath.Join(s.dir, ackName)
	switch {
	case !rec.valid && !fresh:
		s.log.Warnf("store %q: no record of the acknowledged batches "+
			"(%s): the history's length cannot be checked this "+
			"time", s.dir, path)
		return nil
	case !rec.valid, applied >= rec.acked:
		return nil
	case applied >= rec.synced && !sameBoot:
		s.log.Warnf("store %q: batches %d to %d, written after the "+
			"last sync, were lost with an operating-system crash",
			s.dir, applied+1, rec.acked)
		return nil
	}
	what := "a file of " + filepath.Join(s.dir, dbDirName) +
		" was removed or cut short"
	if len(scan.suspects) > 0 {
		what = strings.Join(scan.suspects, ", ")
	}
	return fmt.Errorf("%w: the history ends at batch %d, but %s "+
		"records batch %d as acknowledged: %s", base.ErrCorrupt,
		applied, path, rec.acked, what)
}
