package cln

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/chanfitness/chanfitness/core"
)

// Names of the chanfitness method and its parameters.
const (
	methodName   = "chanfitness"
	paramPeerID  = "peer_id"
	paramWindow  = "window"
	methodUsage  = "[" + paramPeerID + "] [" + paramWindow + "]"
	methodSyntax = methodName + " " + methodUsage
)

// reportArgs are the parsed arguments of a chanfitness call.
type reportArgs struct {
	// Peer is nil when the report covers every peer.
	Peer *core.PeerID

	// Window is a valid window name ("lifetime" when not given).
	Window string
}

// query returns the core query for the arguments.
func (a reportArgs) query() core.ReportQuery {
	return core.ReportQuery{Peer: a.Peer, Window: a.Window}
}

// parseReportArgs parses the params of a chanfitness call as lightningd
// forwards them: an array (lightning-cli's positional form), an object
// (lightning-cli -k or key=value), or nothing. null and "" mean "not
// given". Every error names the parameter and the value.
func parseReportArgs(params json.RawMessage) (reportArgs, error) {
	var peer, window json.RawMessage
	p := bytes.TrimSpace(params)
	switch {
	case len(p) == 0 || isNull(p):

	case p[0] == '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(p, &arr); err != nil {
			return reportArgs{}, fmt.Errorf("params %s: %w",
				jsonText(p), err)
		}
		if len(arr) > 2 {
			return reportArgs{}, fmt.Errorf("too many parameters: "+
				"got %d, want at most 2 (usage: %s)", len(arr),
				methodSyntax)
		}
		if len(arr) > 0 {
			peer = arr[0]
		}
		if len(arr) > 1 {
			window = arr[1]
		}

	case p[0] == '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(p, &obj); err != nil {
			return reportArgs{}, fmt.Errorf("params %s: %w",
				jsonText(p), err)
		}
		var unknown []string
		for k, v := range obj {
			switch k {
			case paramPeerID:
				peer = v
			case paramWindow:
				window = v
			default:
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return reportArgs{}, fmt.Errorf("unknown parameter %s "+
				"(usage: %s)", quoteNames(unknown), methodSyntax)
		}

	default:
		return reportArgs{}, fmt.Errorf("params %s: want an array or "+
			"an object", jsonText(p))
	}

	var args reportArgs
	s, err := argString(paramPeerID, peer)
	if err != nil {
		return reportArgs{}, err
	}
	if s != "" {
		id, err := core.ParsePeerID(s)
		if err != nil {
			return reportArgs{}, fmt.Errorf("%s: %w", paramPeerID, err)
		}
		args.Peer = &id
	}
	s, err = argString(paramWindow, window)
	if err != nil {
		return reportArgs{}, err
	}
	w, err := core.ParseWindow(s)
	if err != nil {
		return reportArgs{}, fmt.Errorf("%s: %w", paramWindow, err)
	}
	args.Window = w.Name
	return args, nil
}

// argString returns a parameter that must be a string, or "" when it is
// absent or null. lightning-cli sends bare digits and true/false raw, so a
// window such as 30 arrives as a number: the error says what to write.
func argString(name string, v json.RawMessage) (string, error) {
	if isNull(v) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%s %s: want a string (%s)", name,
			jsonText(v), argHint(name))
	}
	if len(s) > maxArgLen {
		// Errors quote what they refuse: only a short prefix.
		return "", fmt.Errorf("%s %s: too long (%s)", name,
			core.Quote(s), argHint(name))
	}
	return s, nil
}

// maxArgLen bounds a parameter's length: a node id has 66 characters, a
// window far fewer.
const maxArgLen = 100

func argHint(name string) string {
	if name == paramWindow {
		return "1d, 7d, 30d, lifetime or a duration such as 12h"
	}
	return "a node id of 66 hex characters"
}

// maxQuoted is how many unknown parameter names an error lists.
const maxQuoted = 3

// quoteNames quotes the first few names, each cut short.
func quoteNames(names []string) string {
	q := make([]string, 0, maxQuoted+1)
	for i, n := range names {
		if i == maxQuoted {
			q = append(q, fmt.Sprintf("and %d more", len(names)-i))
			break
		}
		q = append(q, core.Quote(n))
	}
	return strings.Join(q, ", ")
}
