package httpapi

import (
	"strconv"
	"strings"

	"github.com/chanfitness/chanfitness/core"
)

// peerVerdict is what the page's verdict column shows for p (empty when
// the report gives no verdict; the column is left out when every row's
// is empty).
func peerVerdict(p *core.PeerReport) string {
	return strings.ReplaceAll(p.Verdict, "_", " ")
}

// verdictKey orders verdicts from the best to the worst.
func verdictKey(p *core.PeerReport) int {
	switch p.Verdict {
	case core.VerdictOK:
		return 1
	case core.VerdictTooNew:
		return 2
	case core.VerdictWatch:
		return 3
	case core.VerdictConsiderClosing:
		return 4
	}
	return 0
}

// verdictReasons is the reasons of p's verdict, one a line.
func verdictReasons(p *core.PeerReport) string {
	var b strings.Builder
	for i, r := range p.Reasons {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(r.Text)
	}
	return b.String()
}

// verdictCell writes the verdict cell of p's row.
func verdictCell(b *pageBuf, p *core.PeerReport) {
	b.s(`<td data-v=` + strconv.Itoa(verdictKey(p)) + ` class="v ` +
		escape(p.Verdict) + `"`)
	if reasons := verdictReasons(p); reasons != "" {
		b.s(` title="` + escape(reasons) + `"`)
	}
	b.s(">" + escape(peerVerdict(p)))
}
