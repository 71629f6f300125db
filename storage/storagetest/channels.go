package storagetest

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

func testPeerUpsert(t *testing.T, h *harness) {
	tests := []struct {
		name string
		rec  core.PeerRecord
	}{
		{
			name: "all fields with staged event",
			rec:  fullPeer(1),
		},
		{
			name: "staged nil",
			rec: core.PeerRecord{
				Peer:         peerID(1),
				TrackedSince: at(1),
				Online:       false,
				StateSince:   at(5),
				FlapCount:    3,
				LastFlap:     at(5),
				LastEvent:    at(5),
			},
		},
		{
			name: "zero last flap and unknown staged state",
			rec: core.PeerRecord{
				Peer:         peerID(1),
				TrackedSince: at(1),
				Online:       true,
				StateSince:   at(6),
				Staged: &core.LogEvent{
					Time:  at(6),
					State: core.StateUnknown,
				},
				LastEvent: at(6),
			},
		},
		{
			name: "large flap count",
			rec: core.PeerRecord{
				Peer:         peerID(1),
				TrackedSince: at(-86400 * 400),
				StateSince:   at(7),
				FlapCount:    1<<40 + 3,
				LastFlap:     at(7),
				LastEvent:    at(7),
			},
		},
	}
	other := fullPeer(2)
	h.write(&core.Batch{Peers: []core.PeerRecord{other}})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			h.write(&core.Batch{Peers: []core.PeerRecord{tc.rec}})
			h.check(&core.StoredState{
				Peers: []core.PeerRecord{tc.rec, other},
			})
		})
	}
}

func testChannelUpsert(t *testing.T, h *harness) {
	open := core.ChannelRecord{
		Point:          chanPoint(1, 3),
		Peer:           peerID(1),
		ShortChannelID: "800000x12x3",
		OpenedAt:       at(0),
		OpenedAtSource: core.OpenedAtSeen,
		FundingHeight:  800000,
	}
	// Learned from a snapshot, with an estimated open time a day before
	// the monitor started counting it.
	other := core.ChannelRecord{
		Point:          chanPoint(2, 0),
		Peer:           peerID(2),
		OpenedAt:       at(5),
		NodeOpenedAt:   at(-86400),
		OpenedAtSource: core.OpenedAtEstimated,
		FundingHeight:  812345,
	}
	h.write(&core.Batch{Channels: []core.ChannelRecord{open, other}})
	h.check(&core.StoredState{
		Channels: []core.ChannelRecord{open, other},
	})

	closed := open
	closed.ClosedAt = at(3600)
	closed.Frozen = map[string]core.WindowNumbers{
		"1d": {Monitored: 24 * time.Hour, Uptime: 23 * time.Hour},
		"7d": {Monitored: 3 * time.Hour, Uptime: 1},
		"lifetime": {
			Monitored: time.Hour + time.Nanosecond,
			Uptime:    0,
		},
	}
	h.write(&core.Batch{Channels: []core.ChannelRecord{closed}})
	h.check(&core.StoredState{
		Channels: []core.ChannelRecord{closed, other},
	})

	// Replacing a closed record with an open one drops the frozen
	// numbers and the close time.
	h.write(&core.Batch{Channels: []core.ChannelRecord{open}})
	h.check(&core.StoredState{
		Channels: []core.ChannelRecord{open, other},
	})
}

func testDeleteChannels(t *testing.T, h *harness) {
	a := core.ChannelRecord{Point: chanPoint(1, 0), Peer: peerID(1),
		OpenedAt: at(0)}
	b := core.ChannelRecord{Point: chanPoint(1, 1), Peer: peerID(1),
		OpenedAt: at(1), ClosedAt: at(2),
		Frozen: map[string]core.WindowNumbers{"lifetime": {
			Monitored: time.Second}}}
	c := core.ChannelRecord{Point: chanPoint(2, 0), Peer: peerID(2),
		OpenedAt: at(3)}
	h.write(&core.Batch{Channels: []core.ChannelRecord{a, b, c}})

	h.write(&core.Batch{DeleteChannels: []core.ChannelPoint{
		b.Point, chanPoint(9, 9), chanPoint(1, 2),
	}})
	h.check(&core.StoredState{Channels: []core.ChannelRecord{a, c}})

	// Deleting again, and deleting only unknown channels, is fine.
	h.write(&core.Batch{DeleteChannels: []core.ChannelPoint{b.Point}})
	h.check(&core.StoredState{Channels: []core.ChannelRecord{a, c}})

	// A channel written and deleted in one batch is gone.
	d := core.ChannelRecord{Point: chanPoint(3, 0), Peer: peerID(3)}
	h.write(&core.Batch{
		Channels:       []core.ChannelRecord{d},
		DeleteChannels: []core.ChannelPoint{d.Point, a.Point},
	})
	h.check(&core.StoredState{Channels: []core.ChannelRecord{c}})
}
