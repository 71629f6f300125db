package badgerstore

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	"github.com/stretchr/testify/require"
)

// backupState is a small history with a record of every kind.
func backupState() *core.StoredState {
	ev := eventN(1)
	return &core.StoredState{
		Meta: core.Meta{MonitoringSince: t1, Heartbeat: t1},
		Gaps: []core.Gap{{Start: t1, End: t1.Add(time.Hour)}},
		Peers: []core.PeerRecord{{Peer: peerN(1), StateSince: t1},
			{Peer: peerN(2), StateSince: t1}},
		Logs: []core.PeerLog{
			{Peer: peerN(1), Events: []core.LogEvent{ev, eventN(2)}},
			{Peer: peerN(2), Events: []core.LogEvent{ev}}},
		Channels: []core.ChannelRecord{
			{Point: core.ChannelPoint{Index: 1}, Peer: peerN(1)},
			{Point: core.ChannelPoint{Index: 2}, Peer: peerN(2)}},
		Alerts: []core.AlertRecord{
			{Key: "a", Body: []byte("{}"), Pending: []string{"w"}},
			{Key: "b", Body: []byte("{}")}},
		Samples: []core.PeerSample{{Peer: peerN(1), Time: t1,
			Kind: core.SamplePing, RTT: time.Millisecond}},
		Filled: []core.FilledSpan{{Start: t1, End: t1.Add(time.Hour)}},
	}
}

// TestBackupDamage cuts a backup short at every length and flips every
// bit of it: each fails to decode, none panics.
func TestBackupDamage(t *testing.T) {
	data := encodeBackup(&Backup{State: backupState(), lsn: 7, Taken: t1,
		SampleCut: t1})
	_, err := decodeBackup(data)
	require.NoError(t, err)
	for n := 0; n < len(data); n++ {
		_, err := decodeBackup(data[:n])
		require.Error(t, err, "cut to %d bytes", n)
	}
	bad := make([]byte, len(data))
	for i := range data {
		for bit := 0; bit < 8; bit++ {
			copy(bad, data)
			bad[i] ^= 1 << bit
			_, err := decodeBackup(bad)
			require.Error(t, err, "bit %d of byte %d", bit, i)
		}
	}

	// As files: cut short, grown, and a header whose length is that
	// of a huge body.
	path := filepath.Join(t.TempDir(), "chanfitness.backup")
	huge := append([]byte(nil), data...)
	binary.LittleEndian.PutUint64(huge[len(backupMagic):], 1<<62)
	for _, b := range [][]byte{nil, data[:backupHdrLen-1],
		data[:backupHdrLen], data[:len(data)-1],
		append(append([]byte(nil), data...), 0), huge} {

		require.NoError(t, os.WriteFile(path, b, 0o600))
		_, err := ReadBackup(path)
		require.ErrorIs(t, err, base.ErrCorrupt, "%d bytes", len(b))
		require.ErrorContains(t, err, path)
	}
}

// TestBackupInconsistent: a backup whose checksum holds but whose history
// the store never writes (a record twice, a log not from its start,
// channels or alerts to delete, a batch number no store reaches) fails to read, and
// Restore leaves the store as it was rather than rebuild one that cannot
// open.
func TestBackupInconsistent(t *testing.T) {
	p1, p2 := peerN(1).String(), peerN(2).String()
	cases := []struct {
		want  string
		spoil func(b *core.Batch)
	}{
		{"peer " + p1 + " twice", func(b *core.Batch) {
			b.Peers[1].Peer = peerN(1)
		}},
		{"log of peer " + p1 + " twice", func(b *core.Batch) {
			b.Logs[1].Peer = peerN(1)
		}},
		{"log of peer " + p1 + " twice or out of order", func(
			b *core.Batch) {

			b.Logs[0], b.Logs[1] = b.Logs[1], b.Logs[0]
		}},
		{"log of peer " + p2 + " starts at event 3", func(b *core.Batch) {
			b.Logs[1].Seq = 3
		}},
		{"channel", func(b *core.Batch) {
			b.Channels[1].Point = b.Channels[0].Point
		}},
		{`alert "a" twice`, func(b *core.Batch) { b.Alerts[1].Key = "a" }},
		{"records to delete", func(b *core.Batch) {
			b.DeleteAlerts = []string{"a"}
		}},
		{"records to delete", func(b *core.Batch) {
			b.DeleteChannels = []core.ChannelPoint{{}}
		}},
	}
	dir := filepath.Join(t.TempDir(), "store")
	s, err := Open(dir, Options{BackupInterval: -1})
	require.NoError(t, err)
	writeSample(t, s, 0, 3)
	require.NoError(t, s.Close())
	from := filepath.Join(t.TempDir(), "crafted.backup")
	for _, c := range cases {
		want := c.want
		st := backupState()
		b := core.Batch{Meta: &st.Meta, Gaps: st.Gaps, Peers: st.Peers,
			Logs: st.Logs, Channels: st.Channels, Alerts: st.Alerts,
			Samples: st.Samples, Filled: st.Filled}
		c.spoil(&b)
		require.NoError(t, os.WriteFile(from,
			encodeBackupBatch(&b, 9, storeID{}, t1), 0o600))
		_, err := ReadBackup(from)
		require.ErrorIs(t, err, base.ErrCorrupt, want)
		require.ErrorContains(t, err, from)
		require.ErrorContains(t, err, want)

		_, err = Restore(dir, from)
		require.ErrorIs(t, err, base.ErrCorrupt, want)
		_, err = os.Lstat(filepath.Join(dir, damagedDirName))
		require.ErrorIs(t, err, os.ErrNotExist, want)
	}
	require.NoError(t, os.WriteFile(from,
		encodeBackup(&Backup{State: backupState(),
			lsn: maxBackupLSN + 1}), 0o600))
	_, err = Restore(dir, from)
	require.ErrorIs(t, err, base.ErrCorrupt)
	require.ErrorContains(t, err, "batch number 4611686018427387905 "+
		"out of range")

	s, err = Open(dir, Options{BackupInterval: -1})
	require.NoError(t, err)
	requireSample(t, s, 3)
	require.NoError(t, s.Close())
}

// FuzzDecodeBackup feeds arbitrary bodies, under a header that checks, to
// the backup decoder: it fails or returns a history that encodes back to
// the same bytes.
func FuzzDecodeBackup(f *testing.F) {
	f.Add(encodeBackup(&Backup{State: backupState(), lsn: 7, Taken: t1,
		SampleCut: t1})[backupHdrLen:])
	f.Add(encodeBackup(&Backup{
		State: &core.StoredState{}})[backupHdrLen:])
	if v1, err := os.ReadFile(filepath.Join("testdata",
		"v1.backup")); err == nil {

		f.Add(v1[backupHdrLen:])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		data := make([]byte, backupHdrLen, backupHdrLen+len(body))
		copy(data, backupMagic)
		binary.LittleEndian.PutUint64(data[len(backupMagic):],
			uint64(len(body)))
		binary.LittleEndian.PutUint32(data[len(backupMagic)+8:],
			crc32.Checksum(body, crcTable))
		data = append(data, body...)
		bk, err := decodeBackup(data)
		if err != nil {
			return
		}
		again, err := decodeBackup(encodeBackup(bk))
		require.NoError(t, err)
		require.Equal(t, bk, again)
	})
}

// benchHistory writes a history of peers logs of per events each into a
// new store in dir and returns it.
func benchHistory(b *testing.B, dir string, peers, per int) *Store {
	b.Helper()
	s, err := Open(dir, Options{BackupInterval: -1})
	require.NoError(b, err)
	evs := make([]core.LogEvent, per)
	for i := range evs {
		evs[i] = eventN(i)
	}
	for p := 0; p < peers; p++ {
		require.NoError(b, s.Write(context.Background(), &core.Batch{
			Peers: []core.PeerRecord{{Peer: peerN(p)}},
			Logs:  []core.PeerLog{{Peer: peerN(p), Events: evs}},
		}))
	}
	require.NoError(b, s.Sync())
	return s
}

// BenchmarkBackup writes a backup of a history of a million events (500
// peers of 2,000), the store's Writes held back meanwhile for the part
// that reads the history.
func BenchmarkBackup(b *testing.B) {
	s := benchHistory(b, filepath.Join(b.TempDir(), "store"), 500, 2000)
	defer func() { require.NoError(b, s.Close()) }()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		require.NoError(b, s.writeBackup())
	}
	b.StopTimer()
	info, err := os.Stat(filepath.Join(s.dir, backupName))
	require.NoError(b, err)
	b.ReportMetric(float64(info.Size()), "backup-bytes")
}

// BenchmarkRestore rebuilds a store of a million events from its backup.
func BenchmarkRestore(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "store")
	s := benchHistory(b, dir, 500, 2000)
	require.NoError(b, s.writeBackup())
	require.NoError(b, s.Close())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, err := Restore(dir, "")
		require.NoError(b, err)
		b.StopTimer()
		// Only the newest replaced database is kept.
		require.NoError(b, os.RemoveAll(filepath.Join(dir,
			damagedDirName)))
		b.StartTimer()
	}
}

// TestSameStore tells stores apart by their ids, and a backup of version
// 1, which has none, by when its history began.
func TestSameStore(t *testing.T) {
	at := func(id byte, since time.Time) *Backup {
		return &Backup{id: storeID{id}, State: &core.StoredState{
			Meta: core.Meta{MonitoringSince: since}}}
	}
	later := t1.Add(time.Hour)
	for _, c := range []struct {
		a, b *Backup
		same bool
	}{
		{at(1, t1), at(1, t1), true},
		// A first start's backup taken before the monitor filled
		// the history from the node's records.
		{at(1, t1), at(1, later), true},
		{at(1, t1), at(2, t1), false},
		{at(0, t1), at(2, t1), true},
		{at(0, t1), at(2, later), false},
		{at(1, t1), at(0, later), false},
		{at(0, time.Time{}), at(0, later), true},
	} {
		require.Equal(t, c.same, sameStore(c.a, c.b), "%x %v, %x %v",
			c.a.id, c.a.State.Meta.MonitoringSince, c.b.id,
			c.b.State.Meta.MonitoringSince)
		require.Equal(t, c.same, sameStore(c.b, c.a))
	}
}
