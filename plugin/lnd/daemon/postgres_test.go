package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/fleet"
	"github.com/chanfitness/chanfitness/plugin/httpapi"
	"github.com/chanfitness/chanfitness/plugin/lnd/lndtest"
	"github.com/chanfitness/chanfitness/storage/postgres"
	"github.com/chanfitness/chanfitness/storage/postgres/pgtest"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

// TestDaemonOnPostgres: a history on badger is migrated into PostgreSQL
// (twice: the second run copies nothing), then the companion runs on it
// under lnd's public key and continues it; a second companion for the
// same node is refused; the password appears in no log or error.
func TestDaemonOnPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.NewDatabase(t)
	srv := lndtest.New(t)
	p, cp := lndtest.PeerKey(1), lndtest.ChanPoint(1)
	srv.OpenChannel(cp, p, 0)
	srv.SetOnline(p, true)
	lnd := lndArgs(srv, srv.Macaroon(t, "info:read", "offchain:read",
		"peers:read"))
	dataDir := t.TempDir()

	clk := clock.NewTestClock(t0)
	d := startDaemon(t, clk, append(lnd, "--datadir="+dataDir)...)
	d.waitConnected()
	clk.SetTime(t0.Add(time.Hour))
	require.NoError(t, d.stop())

	migrate := append([]string{"--datadir=" + dataDir,
		"--postgres.dsn=" + dsn}, lnd...)
	migrate = append(migrate, "migrate")
	out, err := runCommand(t, migrate...)
	require.NoError(t, err)
	require.Contains(t, out, "copied")
	require.Contains(t, out, lndtest.Identity)
	require.NotContains(t, out, pgtest.Password)
	out, err = runCommand(t, migrate...)
	require.NoError(t, err)
	require.Contains(t, out, "nothing copied")

	// The DSN without --store=postgres is refused, not ignored.
	_, err = runCommand(t, append(lnd, "--postgres.dsn="+dsn)...)
	require.ErrorContains(t, err, "add --store=postgres")

	pgArgs := append(lnd, "--store=postgres", "--postgres.dsn="+dsn)
	clk.SetTime(t0.Add(2 * time.Hour))
	d = startDaemon(t, clk, pgArgs...)
	d.waitConnected()

	err = Run(context.Background(), pgArgs, Env{Clock: clk})
	require.ErrorIs(t, err, postgres.ErrLocked)
	require.NotContains(t, err.Error(), pgtest.Password)

	clk.SetTime(t0.Add(3 * time.Hour))
	r := d.report("")
	require.Equal(t, t0, r.MonitoringSince.Time)
	require.Equal(t, int64(3600), r.UnmonitoredSeconds)
	c := channel(r, cp)
	require.Equal(t, int64(2*3600), c.LifetimeSeconds)
	require.True(t, r.Store.Writing)

	// The fleet view: this node and its peer, over HTTP and as tables.
	code, body := d.get(httpapi.PathFleet)
	require.Equal(t, http.StatusOK, code, string(body))
	var fr fleet.Report
	require.NoError(t, json.Unmarshal(body, &fr))
	require.Len(t, fr.Nodes, 1)
	require.True(t, fr.Nodes[0].Live)
	require.Len(t, fr.Peers, 1)
	require.Equal(t, p, fr.Peers[0].PeerID.String())
	out, err = runCommand(t, "--datadir="+d.dataDir,
		"--listen="+d.addr, "fleet", "--window=12h")
	require.NoError(t, err)
	require.Contains(t, out, lndtest.Identity[:16])
	require.Contains(t, out, p[:16])
	require.Contains(t, out, "UP 12h")
	code, _ = d.get(httpapi.PathFleet + "?window=2x")
	require.Equal(t, http.StatusBadRequest, code)
	require.NoError(t, d.stop())
	require.NotContains(t, d.stderr.String(), pgtest.Password)
	require.Contains(t, d.stderr.String(), "PostgreSQL")
}

// TestDaemonPostgresNeedsDSN: --store=postgres without a database is
// refused before anything starts.
func TestDaemonPostgresNeedsDSN(t *testing.T) {
	_, err := runCommand(t, "--store=postgres")
	require.ErrorContains(t, err, "--postgres.dsn")
	_, err = runCommand(t, "migrate", "--from=memory")
	require.ErrorContains(t, err, `migrate from "memory"`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, Run(ctx, []string{"migrate"}, Env{}))
}
