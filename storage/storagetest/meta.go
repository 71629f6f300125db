package storagetest

import (
	"testing"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

func testEmptyLoad(t *testing.T, h *harness) {
	st := h.load()
	require.Equal(t, core.Meta{}, st.Meta)
	require.Empty(t, st.Gaps)
	require.Empty(t, st.Peers)
	require.Empty(t, st.Channels)
	require.Empty(t, st.Logs)
	h.check(&core.StoredState{})
}

func testMetaReplace(t *testing.T, h *harness) {
	first := core.Meta{MonitoringSince: at(0), Heartbeat: at(10)}
	h.write(&core.Batch{Meta: &first})
	h.check(&core.StoredState{Meta: first})

	second := core.Meta{MonitoringSince: at(0), Heartbeat: at(20)}
	h.write(&core.Batch{Meta: &second})
	h.check(&core.StoredState{Meta: second})

	// A batch without a meta record leaves it alone.
	h.write(&core.Batch{Gaps: []core.Gap{{Start: at(1), End: at(2)}}})
	h.check(&core.StoredState{
		Meta: second,
		Gaps: []core.Gap{{Start: at(1), End: at(2)}},
	})
}

func testGapsAppend(t *testing.T, h *harness) {
	var want []core.Gap
	for i := 0; i < 20; i++ {
		// Batches of one, two and three gaps, some out of time order:
		// the store keeps the order they were written in.
		n := i%3 + 1
		var b core.Batch
		for j := 0; j < n; j++ {
			s := (i*10 + j) * 100
			if i%4 == 0 {
				s = -s
			}
			g := core.Gap{Start: at(s), End: at(s + 50)}
			b.Gaps = append(b.Gaps, g)
			want = append(want, g)
		}
		h.write(&b)
	}
	h.check(&core.StoredState{Gaps: want})
}

// testFilledAppend appends filled spans over several batches: they come
// back in the order written.
func testFilledAppend(t *testing.T, h *harness) {
	var want []core.FilledSpan
	for i := 0; i < 5; i++ {
		var b core.Batch
		for j := 0; j <= i%2; j++ {
			f := core.FilledSpan{Start: at(100 - 10*i - j),
				End: at(105 - 10*i - j), Backfill: i == 0}
			b.Filled = append(b.Filled, f)
			want = append(want, f)
		}
		h.write(&b)
	}
	h.check(&core.StoredState{Filled: want})
}
