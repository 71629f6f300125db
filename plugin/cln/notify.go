package cln

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chanfitness/chanfitness/core"
)

// Notification topics the plugin subscribes to and handles itself, in
// arrival order.
const (
	topicConnect             = "connect"
	topicDisconnect          = "disconnect"
	topicChannelOpened       = "channel_opened"
	topicChannelStateChanged = "channel_state_changed"
	topicShutdown            = "shutdown"
)

// subscriptions is the manifest's subscription list.
var subscriptions = []string{
	topicConnect, topicDisconnect, topicChannelOpened,
	topicChannelStateChanged, topicShutdown,
}

// isTopic reports whether method is one of the subscribed topics.
func isTopic(method string) bool {
	for _, t := range subscriptions {
		if method == t {
			return true
		}
	}
	return false
}

// fields is a decoded JSON object, member by member.
type fields map[string]json.RawMessage

// payloadFields returns the fields of a notification. Every built-in
// topic wraps its fields in an object named after the topic; CLN up to
// v24.08 also sent connect and disconnect fields at the top level. The
// wrapped object wins when present.
func payloadFields(topic string, params json.RawMessage) (fields, error) {
	var top fields
	if err := json.Unmarshal(params, &top); err != nil || top == nil {
		return nil, fmt.Errorf("%w: %s params %s: not a JSON object",
			errMalformed, topic, jsonText(params))
	}
	inner, ok := top[topic]
	if !ok || isNull(inner) {
		return top, nil
	}
	var f fields
	if err := json.Unmarshal(inner, &f); err != nil || f == nil {
		return nil, fmt.Errorf("%w: %s: member %q %s is not a JSON "+
			"object", errMalformed, topic, topic, jsonText(inner))
	}
	return f, nil
}

func isNull(v json.RawMessage) bool {
	return len(v) == 0 || string(v) == "null"
}

// str returns the string member key. Absent and null are both reported
// as absent (CLN drops null members in newer versions).
func (f fields) str(topic, key string) (string, bool, error) {
	v, ok := f[key]
	if !ok || isNull(v) {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, fmt.Errorf("%w: %s: %s %s is not a string",
			errMalformed, topic, key, jsonText(v))
	}
	if len(s) > maxArgLen {
		// Errors quote what they refuse: only a short prefix.
		return "", false, fmt.Errorf("%w: %s: %s %s: too long",
			errMalformed, topic, key, core.Quote(s))
	}
	return s, true, nil
}

// requiredStr is str for a member that must be present.
func (f fields) requiredStr(topic, key string) (string, error) {
	s, ok, err := f.str(topic, key)
	if err != nil {
		return "", err
	}
	if !ok || s == "" {
		return "", fmt.Errorf("%w: %s: no %s", errMalformed, topic, key)
	}
	return s, nil
}

// peer parses the peer id member key.
func (f fields) peer(topic, key string) (core.PeerID, error) {
	s, err := f.requiredStr(topic, key)
	if err != nil {
		return core.PeerID{}, err
	}
	p, err := core.ParsePeerID(s)
	if err != nil {
		return core.PeerID{}, fmt.Errorf("%w: %s: %s: %w",
			errMalformed, topic, key, err)
	}
	return p, nil
}

// parsePeerNotification returns the peer of a connect or disconnect
// notification.
func parsePeerNotification(topic string,
	params json.RawMessage) (core.PeerID, error) {

	f, err := payloadFields(topic, params)
	if err != nil {
		return core.PeerID{}, err
	}
	return f.peer(topic, "id")
}

// channelOpened is what a channel_opened notification tells (the peer
// funded a channel to us).
type channelOpened struct {
	Peer        core.PeerID
	FundingTxid string
}

// parseChannelOpened parses a channel_opened notification, old field
// names (amount, funding_locked) and new ones (funding_msat,
// channel_ready) alike: only the peer and the funding txid are used.
func parseChannelOpened(params json.RawMessage) (channelOpened, error) {
	f, err := payloadFields(topicChannelOpened, params)
	if err != nil {
		return channelOpened{}, err
	}
	p, err := f.peer(topicChannelOpened, "id")
	if err != nil {
		return channelOpened{}, err
	}
	txid, _, err := f.str(topicChannelOpened, "funding_txid")
	if err != nil {
		return channelOpened{}, err
	}
	return channelOpened{Peer: p, FundingTxid: txid}, nil
}

// stateChange is a channel_state_changed notification.
type stateChange struct {
	Peer      core.PeerID
	ChannelID string

	// ShortChannelID is empty when CLN sent null or omitted it.
	ShortChannelID string

	// OldState is empty when CLN omitted it (a new channel, v25.05+)
	// or sent "unknown".
	OldState string
	NewState string
	Cause    string
}

// parseStateChange parses a channel_state_changed notification. Members
// that newer CLN versions omit when null (old_state, short_channel_id,
// message) are optional; peer_id, channel_id and new_state are required.
func parseStateChange(params json.RawMessage) (stateChange, error) {
	const topic = topicChannelStateChanged
	f, err := payloadFields(topic, params)
	if err != nil {
		return stateChange{}, err
	}
	var sc stateChange
	if sc.Peer, err = f.peer(topic, "peer_id"); err != nil {
		return stateChange{}, err
	}
	if sc.ChannelID, err = f.requiredStr(topic, "channel_id"); err != nil {
		return stateChange{}, err
	}
	if sc.ChannelID, err = normChannelID(sc.ChannelID); err != nil {
		return stateChange{}, fmt.Errorf("%w: %s: %w", errMalformed,
			topic, err)
	}
	if sc.NewState, err = f.requiredStr(topic, "new_state"); err != nil {
		return stateChange{}, err
	}
	if sc.OldState, _, err = f.str(topic, "old_state"); err != nil {
		return stateChange{}, err
	}
	if sc.OldState == "unknown" {
		sc.OldState = ""
	}
	sc.ShortChannelID, _, err = f.str(topic, "short_channel_id")
	if err != nil {
		return stateChange{}, err
	}
	if sc.Cause, _, err = f.str(topic, "cause"); err != nil {
		return stateChange{}, err
	}
	return sc, nil
}

// normChannelID checks a channel id's text form, 64 hex characters, and
// returns it in lower case (it is a map key here).
func normChannelID(id string) (string, error) {
	if len(id) != 64 {
		return "", fmt.Errorf("channel_id %q: want 64 hex characters, "+
			"got %d", id, len(id))
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", fmt.Errorf("channel_id %q: not hex", id)
	}
	return strings.ToLower(id), nil
}
