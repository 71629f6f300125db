package cln_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/stretchr/testify/require"
)

// TestProcessAdvice: chanfitness-advice lists each peer with its
// verdict and why, as objects and as lines, takes an optional peer_id,
// and refuses any other parameter with an error naming it.
func TestProcessAdvice(t *testing.T) {
	a, b := lightningdtest.PeerID(1), lightningdtest.PeerID(2)
	n := startProcess(t, lightningdtest.Options{}, nil, false,
		func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			n.SetPeer(b, true)
			n.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
			n.AddChannel(lightningdtest.NewChannel(b, 2,
				lightningdtest.StateNormal))
		})

	var res struct {
		Advice []core.Advice `json:"advice"`
		Lines  []string      `json:"lines"`
	}
	resp := n.CLI("chanfitness-advice")
	require.Nil(t, resp.Error)
	require.NoError(t, json.Unmarshal(resp.Result, &res))
	require.Len(t, res.Advice, 2)
	for _, adv := range res.Advice {
		require.Equal(t, core.VerdictTooNew, adv.Verdict)
		require.Contains(t, adv.Why, "judged from 14d")
	}
	require.Len(t, res.Lines, 3)
	require.True(t, strings.HasPrefix(res.Lines[0], "VERDICT"))

	resp = n.CLI("chanfitness-advice", b)
	require.Nil(t, resp.Error)
	require.NoError(t, json.Unmarshal(resp.Result, &res))
	require.Len(t, res.Advice, 1)
	require.Equal(t, b, res.Advice[0].PeerID)

	for _, args := range [][]string{{"zz"}, {b, "7d"}} {
		resp = n.CLI("chanfitness-advice", args...)
		require.NotNil(t, resp.Error, "%v", args)
	}
	resp = n.CLI("chanfitness-advice", "zz")
	require.Contains(t, resp.Error.Message, `peer id "zz"`)
}

// TestInProcessAlertsAndExport: on Core Lightning every alert goes out
// as a chanfitness_alert notification, wrapped in an object named after
// the topic, declared in the manifest; the export directory is kept.
func TestInProcessAlertsAndExport(t *testing.T) {
	a, b := lightningdtest.PeerID(1), lightningdtest.PeerID(2)
	dir := filepath.Join(t.TempDir(), "export")
	p := startInProcess(t, inProcessOpts{
		values: map[string]any{"chanfitness-export-dir": dir},
		setup: func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			n.SetPeer(b, true)
		},
	})
	require.Equal(t, []lightningdtest.ManifestNotification{{
		Method: "chanfitness_alert"}}, p.Manifest.Notifications)
	p.OpenChannel(a, 1)
	p.OpenChannel(b, 2)
	var r core.Report
	require.Eventually(t, func() bool {
		raw, err := os.ReadFile(filepath.Join(dir, "report.json"))
		return err == nil && json.Unmarshal(raw, &r) == nil &&
			len(r.Channels) == 2
	}, time.Minute, time.Millisecond)

	p.Disconnect(a)
	p.advance(31 * time.Minute)
	// Any change makes the alerts look again.
	p.Disconnect(b)
	var got []lightningdtest.CustomNotification
	require.Eventually(t, func() bool {
		got = p.CustomNotifications()
		return len(got) > 0
	}, time.Minute, time.Millisecond)
	require.Equal(t, "chanfitness_alert", got[0].Method)
	var params struct {
		Alert struct {
			Kind   string `json:"kind"`
			PeerID string `json:"peer_id"`
		} `json:"chanfitness_alert"`
	}
	require.NoError(t, json.Unmarshal(got[0].Params, &params))
	require.Equal(t, "peer_offline", params.Alert.Kind)
	require.Equal(t, a, params.Alert.PeerID)

	p.Connect(a)
	require.Eventually(t, func() bool {
		return len(p.CustomNotifications()) == 2
	}, time.Minute, time.Millisecond)
	require.NoError(t, json.Unmarshal(p.CustomNotifications()[1].Params,
		&params))
	require.Equal(t, "peer_back", params.Alert.Kind)
}

// TestInProcessExportDirIsAFile: an export directory that is a file
// disables the plugin with an error naming it, and the file is left
// alone.
func TestInProcessExportDirIsAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notadir")
	require.NoError(t, os.WriteFile(path, []byte("mine"), 0o600))
	startInProcess(t, inProcessOpts{
		values:   map[string]any{"chanfitness-export-dir": path},
		disabled: path,
	})
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "mine", string(b))
}
