package storagetest

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

// testSamplesOrderAndCut writes samples out of time order, with ties, and
// cuts old ones: Load returns them by time, ties in write order, none
// older than the latest cut, and a cut applies before the samples of its
// own batch.
func testSamplesOrderAndCut(t *testing.T, h *harness) {
	ping := func(peer byte, sec int, rtt time.Duration) core.PeerSample {
		return core.PeerSample{Peer: peerID(peer), Time: at(sec),
			Kind: core.SamplePing, RTT: rtt}
	}
	fail := core.PeerSample{Peer: peerID(2), Time: at(5),
		Kind: core.SampleConnectFail}
	h.write(&core.Batch{Samples: []core.PeerSample{
		ping(1, 10, 3*time.Millisecond), ping(1, -20, time.Second),
		ping(2, 5, time.Millisecond)}})
	h.write(&core.Batch{Samples: []core.PeerSample{fail,
		ping(1, 5, 2*time.Millisecond)}})
	h.check(&core.StoredState{Samples: []core.PeerSample{
		ping(1, -20, time.Second), ping(2, 5, time.Millisecond), fail,
		ping(1, 5, 2*time.Millisecond), ping(1, 10, 3*time.Millisecond),
	}})

	// The cut removes what is older, not what is at it, and an older
	// sample of its own batch too.
	h.write(&core.Batch{DeleteSamplesBefore: at(5),
		Samples: []core.PeerSample{ping(3, 1, time.Minute),
			ping(3, 7, time.Minute)}})
	h.check(&core.StoredState{Samples: []core.PeerSample{
		ping(2, 5, time.Millisecond), fail,
		ping(1, 5, 2*time.Millisecond), ping(3, 7, time.Minute),
		ping(1, 10, 3*time.Millisecond),
	}})

	// A batch without a cut leaves the samples alone.
	h.write(&core.Batch{Gaps: []core.Gap{{Start: at(1), End: at(2)}}})
	h.write(&core.Batch{DeleteSamplesBefore: at(6)})
	h.check(&core.StoredState{
		Gaps: []core.Gap{{Start: at(1), End: at(2)}},
		Samples: []core.PeerSample{ping(3, 7, time.Minute),
			ping(1, 10, 3*time.Millisecond)},
	})
	// A sample written after the cut, older than it, is not returned
	// either.
	h.write(&core.Batch{Samples: []core.PeerSample{ping(4, 2,
		time.Minute), ping(4, 8, time.Minute)}})
	h.check(&core.StoredState{
		Gaps: []core.Gap{{Start: at(1), End: at(2)}},
		Samples: []core.PeerSample{ping(3, 7, time.Minute),
			ping(4, 8, time.Minute), ping(1, 10, 3*time.Millisecond)},
	})
	require.False(t, (&core.Batch{DeleteSamplesBefore: at(1)}).Empty(),
		"a batch with only a cut is not empty")
}

// testSampleCutBackwards cuts at a time before the previous cut, as a
// monitor whose clock was stepped back does: the latest cut is the one
// that holds. What the earlier cut removed stays removed; a sample
// written later between the two cuts is returned, one older than the
// latest cut is not, and a later cut forward removes again, for good: a
// cut going back again brings back nothing it kept out.
func testSampleCutBackwards(t *testing.T, h *harness) {
	ping := func(sec int) core.PeerSample {
		return core.PeerSample{Peer: peerID(1), Time: at(sec),
			Kind: core.SamplePing, RTT: time.Duration(sec)}
	}
	h.write(&core.Batch{Samples: []core.PeerSample{ping(1), ping(4),
		ping(8)}})
	h.write(&core.Batch{DeleteSamplesBefore: at(6)})
	h.check(&core.StoredState{Samples: []core.PeerSample{ping(8)}})

	h.write(&core.Batch{DeleteSamplesBefore: at(3)})
	h.check(&core.StoredState{Samples: []core.PeerSample{ping(8)}})
	h.write(&core.Batch{Samples: []core.PeerSample{ping(2), ping(4),
		ping(7)}})
	h.check(&core.StoredState{Samples: []core.PeerSample{ping(4),
		ping(7), ping(8)}})

	h.write(&core.Batch{DeleteSamplesBefore: at(8),
		Samples: []core.PeerSample{ping(5), ping(9)}})
	h.write(&core.Batch{Samples: []core.PeerSample{ping(6)}})
	h.check(&core.StoredState{Samples: []core.PeerSample{ping(8),
		ping(9)}})

	// Samples the cut at 8 kept out stay out when the cut goes back
	// past them.
	h.write(&core.Batch{DeleteSamplesBefore: at(4)})
	h.check(&core.StoredState{Samples: []core.PeerSample{ping(8),
		ping(9)}})
}
