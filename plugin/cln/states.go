package cln

// Channel states as CLN names them (channel_state_changed, listpeerchannels).
const (
	stateOpeningd       = "OPENINGD"
	stateAwaitingLockin = "CHANNELD_AWAITING_LOCKIN"
	stateDualInit       = "DUALOPEND_OPEN_INIT"
	stateDualLockin     = "DUALOPEND_AWAITING_LOCKIN"
	stateDualCommitted  = "DUALOPEND_OPEN_COMMITTED"
	stateDualReady      = "DUALOPEND_OPEN_COMMIT_READY"
	stateNormal         = "CHANNELD_NORMAL"
	stateAwaitingSplice = "CHANNELD_AWAITING_SPLICE"
	stateShuttingDown   = "CHANNELD_SHUTTING_DOWN"
	stateSigExchange    = "CLOSINGD_SIGEXCHANGE"
	stateClosingDone    = "CLOSINGD_COMPLETE"
	stateAwaitingUni    = "AWAITING_UNILATERAL"
	stateSpendSeen      = "FUNDING_SPEND_SEEN"
	stateOnchain        = "ONCHAIN"
	stateClosed         = "CLOSED"
)

// channelPhase is where a channel stands in the monitor's eyes.
type channelPhase uint8

const (
	// phasePending: not usable yet (OPENINGD, CHANNELD_AWAITING_LOCKIN,
	// the DUALOPEND_* states) or a state this version does not know.
	phasePending channelPhase = iota

	// phaseOpen: the channel counts as open.
	phaseOpen

	// phaseClosed: the channel is closed for good.
	phaseClosed
)

// phaseOf classifies a CLN channel state.
//
// A channel opens when it reaches CHANNELD_NORMAL and stays open through
// every state up to the first closed one:
//
//   - CHANNELD_AWAITING_SPLICE is a live channel whose funding output is
//     being replaced. Counting it as closed would make a reconcile during
//     a splice close the channel and the return to CHANNELD_NORMAL open a
//     new one: the splice would reset the channel's history.
//   - CHANNELD_SHUTTING_DOWN and CLOSINGD_SIGEXCHANGE are a cooperative
//     close under negotiation; the channel still exists and the close may
//     take long if the peer is offline. The channel closes at
//     CLOSINGD_COMPLETE, so counting these as closed would close it
//     earlier on the reconcile path than on the notification path.
//   - The pre-open states are left out so that a funding that never
//     confirms (or is abandoned) leaves no channel behind.
//
// An open phase alone does not open a channel: CLN's close takes a
// channel awaiting lockin straight to CHANNELD_SHUTTING_DOWN, so a
// channel only counts once it has been usable (see usable, preOpen).
//
// Reconcile snapshots list exactly the phaseOpen channels that have been
// usable, so that a Sync agrees with what the notifications did.
func phaseOf(state string) channelPhase {
	switch state {
	case stateNormal, stateAwaitingSplice, stateShuttingDown,
		stateSigExchange:

		return phaseOpen

	case stateClosingDone, stateAwaitingUni, stateSpendSeen,
		stateOnchain, stateClosed:

		return phaseClosed
	}
	return phasePending
}

// usable reports whether a channel in state is usable: CHANNELD_NORMAL,
// or a splice, which only a usable channel starts.
func usable(state string) bool {
	return state == stateNormal || state == stateAwaitingSplice
}

// preOpen reports whether state comes before a channel's first
// CHANNELD_NORMAL.
func preOpen(state string) bool {
	switch state {
	case stateOpeningd, stateAwaitingLockin, stateDualInit,
		stateDualLockin, stateDualCommitted, stateDualReady:

		return true
	}
	return false
}
