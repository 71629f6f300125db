package cln_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/fleet"
	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/chanfitness/chanfitness/storage/postgres"
	"github.com/chanfitness/chanfitness/storage/postgres/pgtest"
	"github.com/stretchr/testify/require"
)

// TestPostgresStore runs the plugin with chanfitness-store=postgres: the
// history is kept under getinfo's id, and the password appears nowhere
// in the node's log.
func TestPostgresStore(t *testing.T) {
	dsn := pgtest.Start(t).NewDatabase(t)
	a := lightningdtest.PeerID(1)
	p := startInProcess(t, inProcessOpts{
		values: map[string]any{
			"chanfitness-store":        "postgres",
			"chanfitness-postgres-dsn": dsn,
		},
		setup: func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			n.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
		},
	})
	r := p.Report()
	require.Len(t, r.Channels, 1)
	require.True(t, r.Store.Writing)
	var logged []string
	for _, l := range p.Logs() {
		logged = append(logged, l.Message)
		require.NotContains(t, l.Message, pgtest.Password)
	}
	require.Contains(t, strings.Join(logged, "\n"), "PostgreSQL store")

	// A second monitor of the same node is refused while this one runs.
	node, err := core.ParsePeerID(p.NodeID)
	require.NoError(t, err)
	_, err = postgres.Open(context.Background(), postgres.Options{
		DSN: dsn, Node: node})
	require.ErrorIs(t, err, postgres.ErrLocked)
}

// TestPostgresFleet: chanfitness-fleet returns the fleet view of the
// database (the /v1/fleet JSON) with an optional window, refuses bad
// params with an error naming them, and while the server is down says
// so, without the password.
func TestPostgresFleet(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.NewDatabase(t)
	a := lightningdtest.PeerID(1)
	p := startInProcess(t, inProcessOpts{
		values: map[string]any{
			"chanfitness-store":        "postgres",
			"chanfitness-postgres-dsn": dsn,
		},
		setup: func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			n.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
		},
	})
	var rep fleet.Report
	resp := p.CLI("chanfitness-fleet")
	require.Nil(t, resp.Error)
	require.NoError(t, json.Unmarshal(resp.Result, &rep))
	require.Len(t, rep.Nodes, 1)
	require.Equal(t, p.NodeID, rep.Nodes[0].NodeID.String())
	require.True(t, rep.Nodes[0].Live)
	require.Len(t, rep.Peers, 1)
	require.Equal(t, a, rep.Peers[0].PeerID.String())
	require.Contains(t, rep.Peers[0].Windows, "1d")
	require.NotContains(t, rep.Peers[0].Windows, "12h")

	resp = p.CLI("chanfitness-fleet", "12h")
	require.Nil(t, resp.Error)
	require.NoError(t, json.Unmarshal(resp.Result, &rep))
	require.Contains(t, rep.Peers[0].Windows, "12h")

	for _, args := range [][]string{{"zz"}, {"1d", "7d"}, {"peer_id=" + a}} {
		resp = p.CLI("chanfitness-fleet", args...)
		require.NotNil(t, resp.Error, "%v", args)
	}
	resp = p.CLI("chanfitness-fleet", "zz")
	require.Contains(t, resp.Error.Message, `"zz"`)
	resp = p.CLI("chanfitness-fleet", "peer_id="+a)
	require.Contains(t, resp.Error.Message, "peer_id")

	srv.Stop(t)
	resp = p.CLI("chanfitness-fleet")
	require.NotNil(t, resp.Error)
	require.Contains(t, resp.Error.Message, "fleet view")
	require.NotContains(t, resp.Error.Message, pgtest.Password)
	srv.Restart(t)
	resp = p.CLI("chanfitness-fleet")
	require.Nil(t, resp.Error)
}

// TestFleetNeedsPostgres: on another store chanfitness-fleet answers an
// error saying it needs the postgres store.
func TestFleetNeedsPostgres(t *testing.T) {
	p := startInProcess(t, inProcessOpts{})
	resp := p.CLI("chanfitness-fleet")
	require.NotNil(t, resp.Error)
	require.Contains(t, resp.Error.Message, "chanfitness-store=postgres")
}
