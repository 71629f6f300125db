package cln_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chanfitness/chanfitness/core"
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
