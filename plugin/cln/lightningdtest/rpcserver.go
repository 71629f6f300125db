package lightningdtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Peer is a peer of the emulated node.
type Peer struct {
	ID        string
	Connected bool
}

// Channel is a channel of the emulated node.
type Channel struct {
	PeerID         string
	ChannelID      string
	FundingTxid    string
	FundingOutnum  uint32
	ShortChannelID string
	State          string

	// Closed channels are listed by listclosedchannels instead of
	// listpeerchannels (CLN v25.12 moves them at CLOSED).
	Closed bool

	// changes is the state history listpeerchannels lists as
	// state_changes (SetState records it).
	changes []stateChangeEntry
}

// stateChangeEntry is one entry of a channel's state history.
type stateChangeEntry struct {
	Timestamp string  `json:"timestamp"`
	OldState  string  `json:"old_state"`
	NewState  string  `json:"new_state"`
	Cause     string  `json:"cause"`
	Message   *string `json:"message"`
}

// Point returns the channel point "<txid>:<index>".
func (c *Channel) Point() string {
	return c.FundingTxid + ":" + strconv.FormatUint(uint64(c.FundingOutnum),
		10)
}

// PeerID returns a valid node id, distinct for each i.
func PeerID(i int) string {
	h := sha256.Sum256([]byte("chanfitness peer " + strconv.Itoa(i)))
	return "02" + hex.EncodeToString(h[:])
}

// NewChannel returns a channel with peer whose funding txid is derived
// from seed, and whose channel id is derived from its funding outpoint as
// for a v1 channel (txid in internal byte order, output index xor-ed into
// the last two bytes).
func NewChannel(peer string, seed int, state string) Channel {
	h := sha256.Sum256([]byte("chanfitness funding " +
		strconv.Itoa(seed)))
	txid := hex.EncodeToString(h[:])
	outnum := uint32(seed % 3)
	var cid [32]byte
	for i := 0; i < 32; i++ {
		cid[i] = h[31-i]
	}
	cid[30] ^= byte(outnum >> 8)
	cid[31] ^= byte(outnum)
	return Channel{
		PeerID:        peer,
		ChannelID:     hex.EncodeToString(cid[:]),
		FundingTxid:   txid,
		FundingOutnum: outnum,
		ShortChannelID: fmt.Sprintf("%dx%dx%d", 800000+seed/1000,
			seed%1000, outnum),
		State: state,
	}
}

// state is what the emulated node serves over RPC.
type state struct {
	mu       sync.Mutex
	info     map[string]any
	peers    map[string]*Peer
	channels []*Channel
	calls    map[string]int
	failing  map[string]bool

	// netEvents is what listnetworkevents lists (CLN v25.12+).
	netEvents []NetworkEvent
	// noNetEvents answers listnetworkevents as an older node does.
	noNetEvents bool
	// startedAt is when the emulated lightningd started, as getlog's
	// created_at gives it; zero: getlog is not served.
	startedAt time.Time

	// holds and garbled are the faults set for the next call of a
	// method (see HoldRPC and GarbleRPC).
	holds   map[string]*hold
	garbled map[string]string
}

// Network event types listnetworkevents lists.
const (
	NetConnect     = "connect"
	NetConnectFail = "connect_fail"
	NetDisconnect  = "disconnect"
	NetPing        = "ping"
)

// NetworkEvent is an entry of listnetworkevents (CLN v25.12+): the node's
// own record of its connections, kept for 30 days.
type NetworkEvent struct {
	CreatedIndex uint64 `json:"created_index"`
	PeerID       string `json:"peer_id"`
	Type         string `json:"type"`

	// Timestamp is in whole seconds.
	Timestamp int64 `json:"timestamp"`

	// DurationNsec is a ping's round trip (ping only).
	DurationNsec *uint64 `json:"duration_nsec,omitempty"`

	// Reason says why a connection attempt failed (connect_fail only).
	Reason string `json:"reason,omitempty"`
}

func newState(nodeID, network, version string) *state {
	return &state{
		info: map[string]any{
			"id":          nodeID,
			"alias":       "EMULATEDNODE",
			"color":       "02aabb",
			"num_peers":   0,
			"network":     network,
			"version":     version,
			"blockheight": 850000,
			"address":     []any{},
			"binding":     []any{},
		},
		peers:   make(map[string]*Peer),
		calls:   make(map[string]int),
		failing: make(map[string]bool),
		holds:   make(map[string]*hold),
		garbled: make(map[string]string),
	}
}

// rpcServer serves lightningd's JSON-RPC on a unix socket.
type rpcServer struct {
	st *state
	ln net.Listener
	wg sync.WaitGroup

	// quit is closed when the server closes; it releases held calls.
	quit chan struct{}

	mu    sync.Mutex
	conns map[net.Conn]bool
}

func startRPC(path string, st *state) (*rpcServer, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	s := &rpcServer{st: st, ln: ln, conns: make(map[net.Conn]bool),
		quit: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *rpcServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// close stops the server and waits for its goroutines.
func (s *rpcServer) close() {
	close(s.quit)
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

type rpcReq struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

func (s *rpcServer) serve(c net.Conn) {
	dec := json.NewDecoder(c)
	for {
		var req rpcReq
		if err := dec.Decode(&req); err != nil {
			if !errors.Is(err, io.EOF) {
				writeReply(c, json.RawMessage("null"), nil,
					&RPCError{Code: -32700,
						Message: err.Error()})
			}
			return
		}
		id := req.ID
		if len(id) == 0 {
			id = json.RawMessage("null")
		}
		h, garbled, isGarbled := s.st.takeFaults(req.Method)
		if h != nil && !s.wait(h) {
			return
		}
		res, rerr := s.handle(&req)
		var err error
		if isGarbled && rerr == nil {
			err = writeGarbled(c, id, garbled)
		} else {
			err = writeReply(c, id, res, rerr)
		}
		if err != nil {
			return
		}
	}
}

func writeReply(w io.Writer, id json.RawMessage, res any,
	rerr *RPCError) error {

	msg := map[string]any{"jsonrpc": "2.0", "id": id}
	if rerr != nil {
		msg["error"] = rerr
	} else {
		msg["result"] = res
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n', '\n'))
	return err
}

// handle answers one request as lightningd would.
func (s *rpcServer) handle(req *rpcReq) (any, *RPCError) {
	switch {
	case req.JSONRPC != "2.0":
		return nil, &RPCError{Code: -32600,
			Message: "jsonrpc: \"2.0\" must be specified"}
	case len(req.ID) == 0:
		return nil, &RPCError{Code: -32600, Message: "No id"}
	case req.Method == "":
		return nil, &RPCError{Code: -32600, Message: "No method"}
	}
	p := bytes.TrimSpace(req.Params)
	if len(p) == 0 || (p[0] != '{' && p[0] != '[') {
		return nil, &RPCError{Code: -32600,
			Message: "Expected array or object for params"}
	}

	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	st.calls[req.Method]++
	if st.failing[req.Method] {
		return nil, &RPCError{Code: -1, Message: "injected failure"}
	}

	switch req.Method {
	case "getinfo":
		info := make(map[string]any, len(st.info)+1)
		for k, v := range st.info {
			info[k] = v
		}
		info["num_peers"] = len(st.peers)
		return info, nil

	case "listpeers":
		return st.listPeers(p)
	case "listpeerchannels":
		return st.listPeerChannels(p)
	case "listnetworkevents":
		if st.noNetEvents {
			break
		}
		return st.listNetworkEvents(p)
	case "getlog":
		if st.startedAt.IsZero() {
			break
		}
		return st.getlog(), nil
	case "listclosedchannels":
		return st.listClosedChannels(p)
	}
	return nil, &RPCError{Code: -32601,
		Message: "Unknown command '" + req.Method + "'"}
}

// listPeers answers listpeers [id].
func (st *state) listPeers(p json.RawMessage) (any, *RPCError) {
	id, err := peerParam(p)
	if err != nil {
		return nil, err
	}
	peers := []any{}
	for _, pid := range st.sortedPeers() {
		pe := st.peers[pid]
		if id != "" && pid != id {
			continue
		}
		n := st.numChannels(pid)
		if !pe.Connected && n == 0 {
			continue
		}
		entry := map[string]any{
			"id":           pid,
			"connected":    pe.Connected,
			"num_channels": n,
		}
		if pe.Connected {
			entry["netaddr"] = []string{"127.0.0.1:9735"}
			entry["features"] = "08a0000a0a69a2"
		}
		peers = append(peers, entry)
	}
	return map[string]any{"peers": peers}, nil
}

// listPeerChannels answers listpeerchannels [id].
func (st *state) listPeerChannels(p json.RawMessage) (any,
	*RPCError) {

	id, err := peerParam(p)
	if err != nil {
		return nil, err
	}
	chans := []any{}
	for _, c := range st.channels {
		if c.Closed || (id != "" && c.PeerID != id) {
			continue
		}
		chans = append(chans, st.peerChannel(c))
	}
	return map[string]any{"channels": chans}, nil
}

// getlog answers getlog with no lines: only created_at is read.
func (st *state) getlog() map[string]any {
	return map[string]any{
		"created_at": fmt.Sprintf("%d.%09d",
			st.startedAt.Unix(), st.startedAt.Nanosecond()),
		"bytes_used": 0,
		"bytes_max":  10485760,
		"log":        []any{},
	}
}

// listClosedChannels answers listclosedchannels [id].
func (st *state) listClosedChannels(p json.RawMessage) (any,
	*RPCError) {

	id, err := peerParam(p)
	if err != nil {
		return nil, err
	}
	chans := []any{}
	for _, c := range st.channels {
		if !c.Closed || (id != "" && c.PeerID != id) {
			continue
		}
		chans = append(chans, map[string]any{
			"peer_id":          c.PeerID,
			"channel_id":       c.ChannelID,
			"short_channel_id": c.ShortChannelID,
			"opener":           "remote",
			"private":          false,
			"funding_txid":     c.FundingTxid,
			"funding_outnum":   c.FundingOutnum,
			"total_msat":       uint64(100000000),
			"final_to_us_msat": uint64(0),
			"close_cause":      "remote",
		})
	}
	return map[string]any{"closedchannels": chans}, nil
}

func (st *state) sortedPeers() []string {
	ids := make([]string, 0, len(st.peers))
	for id := range st.peers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (st *state) numChannels(peer string) int {
	n := 0
	for _, c := range st.channels {
		if c.PeerID == peer && !c.Closed {
			n++
		}
	}
	return n
}

func (st *state) peerChannel(c *Channel) map[string]any {
	connected := false
	if p := st.peers[c.PeerID]; p != nil {
		connected = p.Connected
	}
	m := map[string]any{
		"peer_id":        c.PeerID,
		"peer_connected": connected,
		"state":          c.State,
		"opener":         "remote",
		"channel_id":     c.ChannelID,
		"funding_txid":   c.FundingTxid,
		"funding_outnum": c.FundingOutnum,
		"private":        false,
		// Above 2^53 on purpose: a client that decodes msat values
		// through float64 loses precision.
		"total_msat":    uint64(18014398509481985),
		"to_us_msat":    uint64(9007199254740993),
		"features":      []string{"option_static_remotekey"},
		"close_to":      "0014d4d5",
		"fee_base_msat": 1000,
		"state_changes": append([]stateChangeEntry{}, c.changes...),
	}
	if c.ShortChannelID != "" {
		m["short_channel_id"] = c.ShortChannelID
	}
	return m
}

// peerParam reads the optional peer id of the list commands, by name or
// by position.
func peerParam(p json.RawMessage) (string, *RPCError) {
	bad := &RPCError{Code: -32602, Message: "id: should be a node id"}
	var id *string
	if p[0] == '[' {
		var arr []*string
		if err := json.Unmarshal(p, &arr); err != nil || len(arr) > 1 {
			return "", bad
		}
		if len(arr) == 1 {
			id = arr[0]
		}
	} else {
		var o struct {
			ID *string `json:"id"`
		}
		if err := json.Unmarshal(p, &o); err != nil {
			return "", bad
		}
		id = o.ID
	}
	if id == nil {
		return "", nil
	}
	if len(*id) != 66 {
		return "", bad
	}
	return *id, nil
}
