package badgerstore_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/chanfitness/chanfitness/storage/storagetest"
	"github.com/stretchr/testify/require"
)

// corruptFixture builds the store every corruption case starts from: a
// first run writes closedBatches batches and closes (so that badger has
// tables and the store a backup), then a writer process goes on and is
// killed with SIGKILL in the middle of its writes. It returns the
// number of batches the writer acknowledged.
func corruptFixture(t *testing.T, dir string) (reported int) {
	t.Helper()
	s, err := badgerstore.Open(dir, badgerstore.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	var b core.Batch
	for i := 0; i < closedBatches; i++ {
		crashBatch(&b, i)
		require.NoError(t, s.Write(ctx, &b))
	}
	require.NoError(t, s.Close())
	return killWriter(t, dir, closedBatches+3_000)
}

const closedBatches = 5_000

// damage is one way a file gets damaged.
type damage struct {
	name string
	do   func(t *testing.T, path string)
}

// dataLen is the length of a file up to its last byte that is not zero:
// badger's memtable and value-log files are mostly a zero tail.
func dataLen(t *testing.T, path string) int64 {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	n := len(b)
	for n > 0 && b[n-1] == 0 {
		n--
	}
	return int64(n)
}

func flipBit(at float64) damage {
	return damage{fmt.Sprintf("flip a bit at %.0f%%", at*100),
		func(t *testing.T, path string) {
			off := int64(float64(dataLen(t, path)) * at)
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			require.NoError(t, err)
			defer f.Close()
			var c [1]byte
			_, err = f.ReadAt(c[:], off)
			require.NoError(t, err)
			c[0] ^= 0x10
			_, err = f.WriteAt(c[:], off)
			require.NoError(t, err)
		}}
}

var damages = []damage{
	{"truncate to 0", func(t *testing.T, path string) {
		require.NoError(t, os.Truncate(path, 0))
	}},
	{"truncate to half", func(t *testing.T, path string) {
		info, err := os.Stat(path)
		require.NoError(t, err)
		require.NoError(t, os.Truncate(path, info.Size()/2))
	}},
	{"zero a middle block", func(t *testing.T, path string) {
		n := dataLen(t, path)
		off := n / 2 &^ 4095
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		require.NoError(t, err)
		defer f.Close()
		_, err = f.WriteAt(make([]byte, min(4096, max(n-off, 1))), off)
		require.NoError(t, err)
	}},
	flipBit(0.1),
	flipBit(0.5),
	flipBit(0.9),
	{"delete", func(t *testing.T, path string) {
		require.NoError(t, os.Remove(path))
	}},
}

// copyStore copies the store in src to dst, keeping the zero tails of
// badger's files sparse.
func copyStore(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry,
		err error) error {

		require.NoError(t, err)
		rel, err := filepath.Rel(src, path)
		require.NoError(t, err)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		if d.Name() == "chanfitness.backup.tmp" {
			// The writer was killed while writing a backup.
			return nil
		}
		info, err := d.Info()
		require.NoError(t, err)
		in, err := os.Open(path)
		require.NoError(t, err)
		defer in.Close()
		out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL,
			0o600)
		require.NoError(t, err)
		_, err = io.CopyN(out, in, dataLen(t, path))
		require.NoError(t, err)
		require.NoError(t, out.Truncate(info.Size()))
		return out.Close()
	})
	require.NoError(t, err)
}

// storeFiles lists the files of the store in dir, relative to it.
func storeFiles(t *testing.T, dir string) []string {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry,
		err error) error {

		require.NoError(t, err)
		if !d.IsDir() {
			rel, err := filepath.Rel(dir, path)
			require.NoError(t, err)
			files = append(files, rel)
		}
		return nil
	})
	require.NoError(t, err)
	return files
}

// TestCorruption damages every file of a store, one damage at a time: the
// store then opens with every acknowledged batch, or Open fails with an
// error wrapping storage.ErrCorrupt that names the file (or, for a file
// whose loss only the history's length shows, the database directory)
// and tells how to restore. Either way, restoring from the backup brings
// back the history the backup holds.
func TestCorruption(t *testing.T) {
	if raceEnabled {
		// Nothing in it runs concurrently; under the race detector
		// its hundreds of opens take minutes.
		t.Skip("make test runs it without -race")
	}
	pristine := t.TempDir()
	reported := corruptFixture(t, pristine)
	files := storeFiles(t, pristine)
	t.Logf("writer killed after %d batches; files: %v", reported, files)
	for _, want := range []string{"chanfitness.ack", "chanfitness.backup",
		"db/MANIFEST"} {

		require.Contains(t, files, want)
	}
	var tables, mems int
	for _, f := range files {
		switch filepath.Ext(f) {
		case ".sst":
			tables++
		case ".mem":
			mems++
		}
	}
	require.Positive(t, tables, "no table to damage")
	require.Positive(t, mems, "no memtable file to damage")

	ctx := context.Background()
	// Not t.TempDir: its name would name the damaged file in every
	// error.
	// On a memory file system where there is one: the cases sync
	// often.
	tmp := ""
	if info, err := os.Stat("/dev/shm"); err == nil && info.IsDir() {
		tmp = "/dev/shm"
	}
	cases, err := os.MkdirTemp(tmp, "store")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, os.RemoveAll(cases)) })
	noBackups := badgerstore.Options{BackupInterval: -1}
	var outcomes []string
	for _, file := range files {
		for _, dmg := range damages {
			name := file + ": " + dmg.name
			t.Run(name, func(t *testing.T) {
				dir, err := os.MkdirTemp(cases, "case")
				require.NoError(t, err)
				copyStore(t, pristine, dir)
				dmg.do(t, filepath.Join(dir, file))

				s, err := badgerstore.Open(dir, noBackups)
				if err == nil {
					st, err := s.Load(ctx)
					require.NoError(t, err)
					requireCrashState(t, st, reported)
					require.NoError(t, s.Close())
					outcomes = append(outcomes, name+": ok")
				} else {
					require.ErrorIs(t, err, storage.ErrCorrupt)
					msg := err.Error()
					require.True(t, strings.Contains(msg,
						filepath.Base(file)) ||
						strings.Contains(msg, "/db was "+
							"removed or cut short"),
						"error does not name %s: %v", file,
						err)
					require.Contains(t, msg, "restore")
					outcomes = append(outcomes, name+": "+msg)
				}

				bk, err := badgerstore.Restore(dir, "")
				require.NoError(t, err)
				s, err = badgerstore.Open(dir, noBackups)
				require.NoError(t, err)
				st, err := s.Load(ctx)
				require.NoError(t, err)
				require.NoError(t, s.Close())
				require.Equal(t, storagetest.Normalize(bk.State),
					storagetest.Normalize(st))
				total := 0
				for _, l := range st.Logs {
					total += len(l.Events)
				}
				require.GreaterOrEqual(t, total, closedBatches)
				requireCrashState(t, st, total)
			})
		}
	}
	for _, o := range outcomes {
		t.Log(o)
	}
}
