package lightningdtest

import "fmt"

// Payload selects the notification shapes of one CLN version.
type Payload int

const (
	// V24_08 sends connect and disconnect in both the wrapped and the
	// raw (top-level) form, as CLN v24.02 to v24.08 did while
	// deprecated APIs were allowed; a new channel's old_state is
	// "unknown" and null members are sent as null.
	V24_08 Payload = iota

	// V24_11 sends the wrapped form only.
	V24_11

	// V25_12 omits old_state for a new channel and null members
	// (short_channel_id, message), and ends a channel's life with the
	// CLOSED state, which moves it to listclosedchannels.
	V25_12
)

// Payloads lists every payload shape, for table tests.
var Payloads = []Payload{V24_08, V24_11, V25_12}

// String returns the CLN version the payload stands for.
func (p Payload) String() string {
	switch p {
	case V24_08:
		return "v24.08"
	case V24_11:
		return "v24.11"
	case V25_12:
		return "v25.12"
	}
	return fmt.Sprintf("Payload(%d)", int(p))
}

// obj is a JSON object under construction.
type obj = map[string]any

// ConnectParams returns the params of a connect notification.
func (p Payload) ConnectParams(peer, direction string) obj {
	inner := obj{
		"id":        peer,
		"direction": direction,
		"address": obj{
			"type":    "ipv4",
			"address": "127.0.0.1",
			"port":    9735,
		},
	}
	out := obj{"connect": inner}
	if p == V24_08 {
		for k, v := range inner {
			out[k] = v
		}
	}
	return out
}

// DisconnectParams returns the params of a disconnect notification.
func (p Payload) DisconnectParams(peer string) obj {
	out := obj{"disconnect": obj{"id": peer}}
	if p == V24_08 {
		out["id"] = peer
	}
	return out
}

// ChannelOpenedParams returns the params of a channel_opened
// notification.
func (p Payload) ChannelOpenedParams(peer, txid string, msat uint64,
	ready bool) obj {

	return obj{"channel_opened": obj{
		"id":            peer,
		"funding_msat":  msat,
		"funding_txid":  txid,
		"channel_ready": ready,
	}}
}

// StateChange is one channel_state_changed notification.
type StateChange struct {
	Peer, ChannelID, ShortChannelID string
	OldState, NewState              string
	Cause, Message, Timestamp       string
}

// StateChangedParams returns the params of a channel_state_changed
// notification. Empty OldState, ShortChannelID and Message are what CLN
// has no value for: "unknown"/null before v25.05 and friends, omitted
// after.
func (p Payload) StateChangedParams(sc StateChange) obj {
	inner := obj{
		"peer_id":    sc.Peer,
		"channel_id": sc.ChannelID,
		"timestamp":  sc.Timestamp,
		"new_state":  sc.NewState,
		"cause":      sc.Cause,
	}
	set := func(key, v string, missing any) {
		switch {
		case v != "":
			inner[key] = v
		case p != V25_12:
			inner[key] = missing
		}
	}
	set("old_state", sc.OldState, "unknown")
	set("short_channel_id", sc.ShortChannelID, nil)
	set("message", sc.Message, nil)
	return obj{"channel_state_changed": inner}
}

// ShutdownParams returns the params of a shutdown notification.
func (p Payload) ShutdownParams() obj {
	return obj{"shutdown": obj{}}
}
