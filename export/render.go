package export

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// File is one export file's name and content.
type File struct {
	Name string
	Data []byte
}

// Render returns the export files of r, the lists' comments dated now.
func Render(r core.Report, now time.Time) ([]File, error) {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("export: encode report: %w", err)
	}
	return []File{
		{ReportFile, append(raw, '\n')},
		{UnreliableFile, peerList(r, core.VerdictConsiderClosing, now)},
		{WatchFile, peerList(r, core.VerdictWatch, now)},
	}, nil
}

// peerList writes the public keys of the peers with one verdict, one a
// line, each after a comment line with its reasons.
func peerList(r core.Report, verdict string, now time.Time) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# chanfitness: peers whose verdict is %s, one "+
		"public key a line\n# written %s\n", verdict,
		now.UTC().Format(time.RFC3339))
	for _, p := range sortedPeers(r, verdict) {
		texts := make([]string, 0, len(p.Reasons))
		for _, rs := range p.Reasons {
			texts = append(texts, rs.Text)
		}
		// A reason's text is ours, but keep every comment on one line.
		why := strings.ReplaceAll(strings.Join(texts, "; "), "\n", " ")
		fmt.Fprintf(&b, "# %s\n%s\n", why, p.PeerID)
	}
	return []byte(b.String())
}
