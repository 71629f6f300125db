package lightningdtest

import "time"

// Channel states CLN goes through.
const (
	StateAwaitingLockin = "CHANNELD_AWAITING_LOCKIN"
	StateNormal         = "CHANNELD_NORMAL"
	StateAwaitingSplice = "CHANNELD_AWAITING_SPLICE"
	StateShuttingDown   = "CHANNELD_SHUTTING_DOWN"
	StateSigExchange    = "CLOSINGD_SIGEXCHANGE"
	StateClosingDone    = "CLOSINGD_COMPLETE"
	StateSpendSeen      = "FUNDING_SPEND_SEEN"
	StateOnchain        = "ONCHAIN"
	StateClosed         = "CLOSED"
)

// SetPeer sets a peer's connection state without a notification (a peer
// connected before the plugin started, or a notification that was lost).
func (n *Node) SetPeer(id string, connected bool) {
	n.st.mu.Lock()
	defer n.st.mu.Unlock()
	p := n.st.peers[id]
	if p == nil {
		p = &Peer{ID: id}
		n.st.peers[id] = p
	}
	p.Connected = connected
}

// Connect connects a peer, records it for listnetworkevents and notifies
// the plugin.
func (n *Node) Connect(id string) {
	n.t.Helper()
	n.SetPeer(id, true)
	n.RecordNetworkEvent(NetworkEvent{PeerID: id, Type: NetConnect})
	n.Notify("connect", n.opts.Payload.ConnectParams(id, "in"))
}

// Disconnect disconnects a peer, records it for listnetworkevents and
// notifies the plugin.
func (n *Node) Disconnect(id string) {
	n.t.Helper()
	n.SetPeer(id, false)
	n.RecordNetworkEvent(NetworkEvent{PeerID: id, Type: NetDisconnect})
	n.Notify("disconnect", n.opts.Payload.DisconnectParams(id))
}

// RecordNetworkEvent adds an entry to listnetworkevents without a
// notification (a ping, a failed connection attempt, or history from
// before the plugin ran). A zero Timestamp is now; CreatedIndex is
// assigned.
func (n *Node) RecordNetworkEvent(e NetworkEvent) {
	n.st.mu.Lock()
	defer n.st.mu.Unlock()
	if e.Timestamp == 0 {
		e.Timestamp = time.Now().Unix()
	}
	e.CreatedIndex = uint64(len(n.st.netEvents)) + 1
	n.st.netEvents = append(n.st.netEvents, e)
}

// SetStartedAt makes the node answer getlog with lightningd's start time
// t (its created_at). Until then it does not serve getlog, so a plugin
// cannot tell how long the node's records are complete.
func (n *Node) SetStartedAt(t time.Time) {
	n.st.mu.Lock()
	defer n.st.mu.Unlock()
	n.st.startedAt = t
}

// SetNoNetworkEvents makes the node answer listnetworkevents as a node
// older than v25.12 does: unknown command.
func (n *Node) SetNoNetworkEvents(none bool) {
	n.st.mu.Lock()
	defer n.st.mu.Unlock()
	n.st.noNetEvents = none
}

// AddChannel adds a channel without a notification and returns it.
func (n *Node) AddChannel(c Channel) *Channel {
	n.st.mu.Lock()
	defer n.st.mu.Unlock()
	if n.st.peers[c.PeerID] == nil {
		n.st.peers[c.PeerID] = &Peer{ID: c.PeerID}
	}
	ch := c
	n.st.channels = append(n.st.channels, &ch)
	return &ch
}

// SetState moves a channel to a new state, notifying the plugin unless
// quiet, and records the change in the channel's state_changes. CLOSED
// moves it to listclosedchannels.
func (n *Node) SetState(c *Channel, newState string, quiet bool) {
	n.t.Helper()
	stamp := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	n.st.mu.Lock()
	old := c.State
	c.State = newState
	if newState == StateClosed {
		c.Closed = true
	}
	if old != "" {
		// A channel's creation is not in its history.
		c.changes = append(c.changes, stateChangeEntry{
			Timestamp: stamp, OldState: old, NewState: newState,
			Cause: "remote",
		})
	}
	scid := c.ShortChannelID
	n.st.mu.Unlock()
	if quiet {
		return
	}
	n.Notify("channel_state_changed", n.opts.Payload.StateChangedParams(
		StateChange{
			Peer:           c.PeerID,
			ChannelID:      c.ChannelID,
			ShortChannelID: scid,
			OldState:       old,
			NewState:       newState,
			Cause:          "remote",
			Timestamp:      stamp,
		}))
}

// SetShortChannelID gives a channel its short channel id without a
// notification, as the funding transaction's first confirmation does.
func (n *Node) SetShortChannelID(c *Channel, scid string) {
	n.st.mu.Lock()
	defer n.st.mu.Unlock()
	c.ShortChannelID = scid
}

// OpenChannel opens a channel funded by the peer, with the notifications
// CLN sends: channel_opened, then the channel's first state and
// CHANNELD_NORMAL. The first state change has no short channel id yet.
func (n *Node) OpenChannel(peer string, seed int) *Channel {
	n.t.Helper()
	c := NewChannel(peer, seed, "")
	scid := c.ShortChannelID
	c.ShortChannelID = ""
	ch := n.AddChannel(c)
	n.Notify("channel_opened", n.opts.Payload.ChannelOpenedParams(peer,
		c.FundingTxid, 100000000, false))
	n.SetState(ch, StateAwaitingLockin, false)
	n.SetShortChannelID(ch, scid)
	n.SetState(ch, StateNormal, false)
	return ch
}

// CloseChannel closes a channel cooperatively with the state changes CLN
// sends, ending at ONCHAIN, or at CLOSED for payload V25_12.
func (n *Node) CloseChannel(c *Channel) {
	n.t.Helper()
	for _, s := range []string{StateShuttingDown, StateSigExchange,
		StateClosingDone, StateSpendSeen, StateOnchain} {

		n.SetState(c, s, false)
	}
	if n.opts.Payload == V25_12 {
		n.SetState(c, StateClosed, false)
	}
}

// Splice moves a channel to a new funding outpoint through
// CHANNELD_AWAITING_SPLICE, as a splice does; its channel id stays.
func (n *Node) Splice(c *Channel, seed int) {
	n.t.Helper()
	n.SetState(c, StateAwaitingSplice, false)
	moved := NewChannel(c.PeerID, seed, "")
	n.st.mu.Lock()
	c.FundingTxid = moved.FundingTxid
	c.FundingOutnum = moved.FundingOutnum
	c.ShortChannelID = moved.ShortChannelID
	n.st.mu.Unlock()
	n.SetState(c, StateNormal, false)
}

// RPCCalls returns how often the plugin called an RPC method.
func (n *Node) RPCCalls(method string) int {
	n.st.mu.Lock()
	defer n.st.mu.Unlock()
	return n.st.calls[method]
}

// FailRPC makes an RPC method fail (or work again).
func (n *Node) FailRPC(method string, fail bool) {
	n.st.mu.Lock()
	defer n.st.mu.Unlock()
	n.st.failing[method] = fail
}

// DropRPCConnections closes every open RPC connection, as a restarting
// lightningd would; clients must dial again.
func (n *Node) DropRPCConnections() {
	n.rpc.mu.Lock()
	defer n.rpc.mu.Unlock()
	for c := range n.rpc.conns {
		c.Close()
	}
}
