package lightningdtest

import (
	"encoding/json"
	"time"
)

// AddHistory records a state change in the channel's state_changes, at a
// time of the test's choosing, without changing its state: the history of
// a channel that was opened before the test's node started.
func (c *Channel) AddHistory(at time.Time, oldState, newState string) {
	c.changes = append(c.changes, stateChangeEntry{
		Timestamp: at.UTC().Format("2006-01-02T15:04:05.000Z"),
		OldState:  oldState, NewState: newState, Cause: "remote",
	})
}

// listNetworkEvents answers listnetworkevents [id] [index] [start]
// [limit]: index must be "created" when given; start is the first
// created_index listed.
func (st *state) listNetworkEvents(p json.RawMessage) (any, *RPCError) {
	var args struct {
		ID    *string `json:"id"`
		Index *string `json:"index"`
		Start *uint64 `json:"start"`
		Limit *uint32 `json:"limit"`
	}
	bad := func(msg string) *RPCError {
		return &RPCError{Code: -32602, Message: msg}
	}
	if p[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(p, &arr); err != nil || len(arr) > 4 {
			return nil, bad("too many parameters")
		}
		dst := []any{&args.ID, &args.Index, &args.Start, &args.Limit}
		for i, a := range arr {
			if err := json.Unmarshal(a, dst[i]); err != nil {
				return nil, bad(err.Error())
			}
		}
	} else if err := json.Unmarshal(p, &args); err != nil {
		return nil, bad(err.Error())
	}
	if args.ID != nil && len(*args.ID) != 66 {
		return nil, bad("id: should be a node id")
	}
	if args.Index != nil && *args.Index != "created" {
		return nil, bad("index: should be one of \"created\"")
	}
	if (args.Start != nil || args.Limit != nil) && args.Index == nil {
		return nil, bad("Can only specify start/limit with index")
	}
	evs := []NetworkEvent{}
	for _, e := range st.netEvents {
		if args.ID != nil && e.PeerID != *args.ID {
			continue
		}
		if args.Start != nil && e.CreatedIndex < *args.Start {
			continue
		}
		if args.Limit != nil && len(evs) >= int(*args.Limit) {
			break
		}
		evs = append(evs, e)
	}
	return map[string]any{"networkevents": evs}, nil
}
