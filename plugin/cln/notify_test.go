package cln

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

const (
	ones = "11111111111111111111111111111111" +
		"11111111111111111111111111111111"
	twos = "22222222222222222222222222222222" +
		"22222222222222222222222222222222"
	peerA = "02" + ones
	chanA = "aa000000000000000000000000000000" +
		"00000000000000000000000000000001"
)

func TestParsePeerNotification(t *testing.T) {
	tests := []struct {
		name    string
		topic   string
		params  string
		wantErr string
	}{
		{"wrapped", "connect", `{"connect":{"id":"` + peerA +
			`","direction":"in","address":{"type":"ipv4"}}}`, ""},
		{"wrapped and raw", "connect", `{"id":"` + peerA +
			`","direction":"in","connect":{"id":"` + peerA + `"}}`,
			""},
		{"raw only", "disconnect", `{"id":"` + peerA + `"}`, ""},
		{"wrapped wins over raw", "disconnect", `{"id":"junk",` +
			`"disconnect":{"id":"` + peerA + `"}}`, ""},
		{"null wrapped falls back to raw", "connect",
			`{"connect":null,"id":"` + peerA + `"}`, ""},
		{"upper-case hex", "connect", `{"connect":{"id":"` +
			strings.ToUpper(peerA) + `"}}`, ""},
		{"no id", "disconnect", `{"disconnect":{}}`, "no id"},
		{"empty id", "disconnect", `{"disconnect":{"id":""}}`, "no id"},
		{"id is a number", "connect", `{"connect":{"id":5}}`,
			"id 5 is not a string"},
		{"short id", "connect", `{"connect":{"id":"02ab"}}`, `"02ab"`},
		{"not a key", "connect", `{"connect":{"id":"04` + peerA[2:] +
			`"}}`, "must start with 02 or 03"},
		{"params not an object", "connect", `"x"`, "not a JSON object"},
		{"params null", "connect", `null`, "not a JSON object"},
		{"wrapped not an object", "disconnect", `{"disconnect":[1]}`,
			"is not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePeerNotification(tc.topic,
				json.RawMessage(tc.params))
			if tc.wantErr != "" {
				require.ErrorIs(t, err, errMalformed)
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorContains(t, err, tc.topic)
				return
			}
			require.NoError(t, err)
			require.Equal(t, peerA, p.String())
		})
	}
}

func TestParseStateChange(t *testing.T) {
	full := func(extra string) string {
		return `{"channel_state_changed":{"peer_id":"` + peerA +
			`","channel_id":"` + chanA + `"` + extra + `}}`
	}
	tests := []struct {
		name    string
		params  string
		want    stateChange
		wantErr string
	}{{
		name: "v24 new channel",
		params: full(`,"short_channel_id":null,"timestamp":"2023-01-05` +
			`T18:27:12.145Z","old_state":"unknown","new_state":` +
			`"CHANNELD_AWAITING_LOCKIN","cause":"remote","message":null`),
		want: stateChange{NewState: "CHANNELD_AWAITING_LOCKIN",
			Cause: "remote"},
	}, {
		name: "v25.12 omitted members",
		params: full(`,"timestamp":"2025-01-05T18:27:12.145Z",` +
			`"new_state":"CHANNELD_AWAITING_LOCKIN","cause":"user"`),
		want: stateChange{NewState: "CHANNELD_AWAITING_LOCKIN",
			Cause: "user"},
	}, {
		name: "close",
		params: full(`,"short_channel_id":"561820x1020x1","old_state":` +
			`"CHANNELD_NORMAL","new_state":"CHANNELD_SHUTTING_DOWN",` +
			`"cause":"remote","message":"Peer closes channel"`),
		want: stateChange{ShortChannelID: "561820x1020x1",
			OldState: "CHANNELD_NORMAL",
			NewState: "CHANNELD_SHUTTING_DOWN", Cause: "remote"},
	}, {
		name: "upper-case channel id",
		params: `{"channel_state_changed":{"peer_id":"` + peerA +
			`","channel_id":"` + strings.ToUpper(chanA) +
			`","new_state":"CLOSED"}}`,
		want: stateChange{NewState: "CLOSED"},
	}, {
		name:    "no new state",
		params:  full(`,"old_state":"CHANNELD_NORMAL"`),
		wantErr: "no new_state",
	}, {
		name: "no channel id",
		params: `{"channel_state_changed":{"peer_id":"` + peerA +
			`","new_state":"ONCHAIN"}}`,
		wantErr: "no channel_id",
	}, {
		name: "short channel id",
		params: `{"channel_state_changed":{"peer_id":"` + peerA +
			`","channel_id":"abc","new_state":"ONCHAIN"}}`,
		wantErr: `channel_id "abc": want 64 hex characters`,
	}, {
		name: "channel id not hex",
		params: `{"channel_state_changed":{"peer_id":"` + peerA +
			`","channel_id":"` + strings.Repeat("z", 64) +
			`","new_state":"ONCHAIN"}}`,
		wantErr: "not hex",
	}, {
		name: "channel id a number",
		params: `{"channel_state_changed":{"peer_id":"` + peerA +
			`","channel_id":7,"new_state":"ONCHAIN"}}`,
		wantErr: "channel_id 7 is not a string",
	}, {
		name:    "bad peer",
		params:  `{"channel_state_changed":{"peer_id":"x"}}`,
		wantErr: `peer_id: bad input: peer id "x"`,
	}, {
		name:    "state a number",
		params:  full(`,"new_state":3`),
		wantErr: "new_state 3 is not a string",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := parseStateChange(json.RawMessage(tc.params))
			if tc.wantErr != "" {
				require.ErrorIs(t, err, errMalformed)
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.want.Peer, _ = core.ParsePeerID(peerA)
			tc.want.ChannelID = chanA
			require.Equal(t, tc.want, sc)
		})
	}
}

func TestParseChannelOpened(t *testing.T) {
	tests := []struct {
		name, params, txid, wantErr string
	}{
		{"current names", `{"channel_opened":{"id":"` + peerA +
			`","funding_msat":100000000,"funding_txid":"ab",` +
			`"channel_ready":false}}`, "ab", ""},
		{"old names", `{"channel_opened":{"id":"` + peerA +
			`","amount":"100000sat","funding_txid":"cd",` +
			`"funding_locked":true}}`, "cd", ""},
		{"no txid", `{"channel_opened":{"id":"` + peerA + `"}}`, "",
			""},
		{"no peer", `{"channel_opened":{"funding_txid":"ab"}}`, "",
			"no id"},
		{"txid a number", `{"channel_opened":{"id":"` + peerA +
			`","funding_txid":1}}`, "", "funding_txid 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			co, err := parseChannelOpened(json.RawMessage(tc.params))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, peerA, co.Peer.String())
			require.Equal(t, tc.txid, co.FundingTxid)
		})
	}
}

func TestPhaseOf(t *testing.T) {
	tests := []struct {
		state string
		want  channelPhase
	}{
		{"OPENINGD", phasePending},
		{"CHANNELD_AWAITING_LOCKIN", phasePending},
		{"DUALOPEND_OPEN_INIT", phasePending},
		{"DUALOPEND_AWAITING_LOCKIN", phasePending},
		{"DUALOPEND_OPEN_COMMITTED", phasePending},
		{"DUALOPEND_OPEN_COMMIT_READY", phasePending},
		{"CHANNELD_NORMAL", phaseOpen},
		{"CHANNELD_AWAITING_SPLICE", phaseOpen},
		{"CHANNELD_SHUTTING_DOWN", phaseOpen},
		{"CLOSINGD_SIGEXCHANGE", phaseOpen},
		{"CLOSINGD_COMPLETE", phaseClosed},
		{"AWAITING_UNILATERAL", phaseClosed},
		{"FUNDING_SPEND_SEEN", phaseClosed},
		{"ONCHAIN", phaseClosed},
		{"CLOSED", phaseClosed},
		{"SOME_FUTURE_STATE", phasePending},
		{"", phasePending},
	}
	for _, tc := range tests {
		t.Run(tc.state, func(t *testing.T) {
			require.Equal(t, tc.want, phaseOf(tc.state))
		})
	}
}
