package cln_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/stretchr/testify/require"
)

// benchStores are the stores the process benchmarks run on.
var benchStores = []string{"memory", "badger"}

// BenchmarkProcessReport2000 times a chanfitness call on a node with
// 2,000 channels (1,000 peers, half of them online), through the
// emulator: request to the plugin binary, report, reply. Goal: < 100 ms.
func BenchmarkProcessReport2000(b *testing.B) {
	for _, store := range benchStores {
		b.Run(store, func(b *testing.B) {
			n := startProcess(b, lightningdtest.Options{},
				map[string]any{"chanfitness-store": store}, false,
				addChannels(1000, 2))
			r := n.Report()
			require.Len(b, r.Channels, 2000)
			require.Len(b, r.Peers, 1000)

			b.ResetTimer()
			var size int
			for i := 0; i < b.N; i++ {
				resp := n.CLI("chanfitness")
				if resp.Error != nil {
					b.Fatal(resp.Error)
				}
				size = len(resp.Result)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/
				float64(b.N), "ms/call")
			b.ReportMetric(float64(size), "reply-bytes")
			require.Zero(b, n.Shutdown())
		})
	}
}

// addChannels gives a node peers with perPeer open channels each, every
// other peer online.
func addChannels(peers, perPeer int) func(n *lightningdtest.Node) {
	return func(n *lightningdtest.Node) {
		for i := 0; i < peers; i++ {
			id := lightningdtest.PeerID(i)
			n.SetPeer(id, i%2 == 0)
			for j := 0; j < perPeer; j++ {
				n.AddChannel(lightningdtest.NewChannel(id,
					perPeer*i+j, lightningdtest.StateNormal))
			}
		}
	}
}

// BenchmarkProcessIntake sends b.N alternating disconnect and connect
// notifications for a peer with a channel, in writes of 1,000, then
// calls chanfitness, which the plugin answers only after applying
// everything before it. None may be lost: the flap count is exact.
// Goal: >= 10,000 notifications/s.
func BenchmarkProcessIntake(b *testing.B) {
	for _, store := range benchStores {
		b.Run(store, func(b *testing.B) {
			a := lightningdtest.PeerID(1)
			n := startProcess(b, lightningdtest.Options{},
				map[string]any{"chanfitness-store": store}, false,
				func(n *lightningdtest.Node) {
					n.SetPeer(a, true)
					n.AddChannel(lightningdtest.NewChannel(a, 1,
						lightningdtest.StateNormal))
				})
			pl := n.Payload()
			frames := [2][]byte{
				lightningdtest.NotificationFrame("disconnect",
					pl.DisconnectParams(a)),
				lightningdtest.NotificationFrame("connect",
					pl.ConnectParams(a, "in")),
			}
			var buf bytes.Buffer
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				buf.Write(frames[i%2])
				if buf.Len() >= 1000*len(frames[0]) || i == b.N-1 {
					if err := n.SendRaw(buf.Bytes()); err != nil {
						b.Fatal(err)
					}
					buf.Reset()
				}
			}
			r := n.Report()
			elapsed := time.Since(start)
			b.StopTimer()

			p := peer(b, r, a)
			if p.FlapCount != b.N+1 {
				b.Fatalf("flap count %d, want %d: notifications lost",
					p.FlapCount, b.N+1)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(),
				"notifications/s")
			require.Zero(b, n.Shutdown())
		})
	}
}
