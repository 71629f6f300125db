package cln

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/lightningnetwork/lnd/clock"
)

// rpcTimeout bounds one call on lightningd's RPC socket: a lightningd
// that is busy or wedged cannot hold the plugin longer. A call it does not
// answer in time fails, and what needed it is tried again later (the next
// reconcile).
const rpcTimeout = 30 * time.Second

// maxReply bounds what one call reads from lightningd's RPC socket, far
// above the listing of the largest node, so that a stream of garbage
// cannot fill the memory within the call's time.
const maxReply = 256 << 20

// nodeRPC is what the plugin asks lightningd over its RPC socket. The
// unix-socket client implements it; tests may stand in for it.
type nodeRPC interface {
	GetInfo(ctx context.Context) (nodeInfo, error)
	ListPeers(ctx context.Context) ([]peerInfo, error)
	ListPeerChannels(ctx context.Context,
		peer *core.PeerID) ([]peerChannel, error)
	ListClosedChannels(ctx context.Context,
		peer *core.PeerID) ([]closedChannel, error)
	Close() error
}

// nodeInfo is the part of getinfo the plugin uses.
type nodeInfo struct {
	ID      string `json:"id"`
	Alias   string `json:"alias"`
	Network string `json:"network"`
	Version string `json:"version"`

	// BlockHeight is the height of the node's chain tip.
	BlockHeight uint32 `json:"blockheight"`
}

// peerInfo is a listpeers entry.
type peerInfo struct {
	ID        string `json:"id"`
	Connected bool   `json:"connected"`
}

// peerChannel is a listpeerchannels entry.
type peerChannel struct {
	PeerID         string  `json:"peer_id"`
	PeerConnected  bool    `json:"peer_connected"`
	State          string  `json:"state"`
	ShortChannelID string  `json:"short_channel_id"`
	ChannelID      string  `json:"channel_id"`
	FundingTxid    string  `json:"funding_txid"`
	FundingOutnum  *uint32 `json:"funding_outnum"`

	// StateChanges is the channel's state history, oldest first.
	StateChanges []listedStateChange `json:"state_changes"`
}

// listedStateChange is an entry of a listed channel's state history.
type listedStateChange struct {
	// Timestamp is when the change happened, RFC 3339 in UTC with
	// milliseconds ("2023-01-05T18:27:12.145Z").
	Timestamp string `json:"timestamp"`
	OldState  string `json:"old_state"`
	NewState  string `json:"new_state"`
}

// closedChannel is a listclosedchannels entry.
type closedChannel struct {
	PeerID         string  `json:"peer_id"`
	ShortChannelID string  `json:"short_channel_id"`
	ChannelID      string  `json:"channel_id"`
	FundingTxid    string  `json:"funding_txid"`
	FundingOutnum  *uint32 `json:"funding_outnum"`
}

// fundingPoint returns the channel point of a listed channel.
func fundingPoint(txid string, outnum *uint32) (core.ChannelPoint, error) {
	if txid == "" || outnum == nil {
		return core.ChannelPoint{}, fmt.Errorf("%w: no funding "+
			"outpoint", core.ErrBadInput)
	}
	return core.NewChannelPoint(txid, *outnum)
}

// rpcClient is a JSON-RPC client for lightningd's unix socket. Calls are
// serialized over one connection, which is redialed after any error. Each
// call, the wait for an earlier one included, is bounded by timeout on
// clock. It is safe for concurrent use.
type rpcClient struct {
	path     string
	clock    clock.Clock
	timeout  time.Duration
	maxReply int64

	// turn is held by the call in progress: a channel rather than a
	// mutex, so that a call queued behind a hung one gives up in time.
	turn chan struct{}

	// Held with turn. The decoder reads conn through lim.
	conn net.Conn
	lim  *limitedReader
	dec  *json.Decoder
	seq  uint64
}

// limitedReader fails a read once n bytes were read since n was set to
// max.
type limitedReader struct {
	r      io.Reader
	n, max int64
}

// Read implements io.Reader.
func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("reply over the limit of %d bytes",
			l.max)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

var _ nodeRPC = (*rpcClient)(nil)

// newRPCClient returns a client of the socket at path whose calls time
// out after rpcTimeout on clk (nil: the system clock).
func newRPCClient(path string, clk clock.Clock) *rpcClient {
	if clk == nil {
		clk = clock.NewDefaultClock()
	}
	return &rpcClient{path: path, clock: clk, timeout: rpcTimeout,
		maxReply: maxReply, turn: make(chan struct{}, 1)}
}

// bound returns ctx, canceled with a cause wrapping errRPCTimeout once
// the client's timeout passed on its clock. The test clock then makes a
// call's timeout exact; the system clock's timer is not moved by a step
// of the wall clock. stop must be called when the call is done.
func (c *rpcClient) bound(ctx context.Context,
	method string) (bctx context.Context, stop func()) {

	bctx, cancel := context.WithCancelCause(ctx)
	expired := c.clock.TickAfter(c.timeout)
	done := make(chan struct{})
	go func() {
		select {
		case <-expired:
			cancel(fmt.Errorf("rpc %s: %w within %v", method,
				errRPCTimeout, c.timeout))
		case <-done:
		}
	}()
	return bctx, func() {
		close(done)
		cancel(nil)
	}
}

// abortErr returns why ctx ended, for a call of method that it aborted:
// the timeout's cause as it is, anything else (lightningd's shutdown)
// wrapped.
func abortErr(ctx context.Context, method string) error {
	err := context.Cause(ctx)
	if errors.Is(err, errRPCTimeout) {
		return err
	}
	return fmt.Errorf("rpc %s: %w", method, err)
}

// rpcRequest is a JSON-RPC request to lightningd.
type rpcRequest struct {
	JSONRPC string `json:"jsonrpc"`
	ID      string `json:"id"`
	Method  string `json:"method"`
	Params  any    `json:"params"`
}

// rpcResponse is a JSON-RPC response from lightningd.
type rpcResponse struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

// call sends one request and decodes its result into out. A canceled ctx
// aborts the call in flight, as does the client's timeout; an aborted
// call's connection is dropped, so that its reply, should it come later,
// is never read.
func (c *rpcClient) call(ctx context.Context, method string, params,
	out any) error {

	ctx, stopTimer := c.bound(ctx, method)
	defer stopTimer()
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return abortErr(ctx, method)
	}
	defer func() { <-c.turn }()

	if ctx.Err() != nil {
		return abortErr(ctx, method)
	}
	if c.conn == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "unix", c.path)
		if err != nil {
			if ctx.Err() != nil {
				return abortErr(ctx, method)
			}
			return fmt.Errorf("rpc %s: connect to %s: %w", method,
				c.path, err)
		}
		c.conn = conn
		c.lim = &limitedReader{r: conn}
		c.dec = json.NewDecoder(c.lim)
	}
	c.lim.n, c.lim.max = c.maxReply, c.maxReply
	conn := c.conn
	// The same bound on the system clock, should ctx never end; set
	// before the abort below may move it.
	if err := conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		c.drop()
		return fmt.Errorf("rpc %s: %w", method, err)
	}
	stop := context.AfterFunc(ctx, func() {
		// Unblocks the read or write below.
		_ = conn.SetDeadline(time.Unix(1, 0))
	})

	connOK, err := c.roundTrip(method, params, out)
	if !stop() {
		// The abort ran or is running: the connection's deadline
		// is spent, whatever the call's outcome.
		connOK = false
		if err != nil {
			err = abortErr(ctx, method)
		}
	}
	if !connOK {
		// The stream may hold half a reply: start over next time.
		c.drop()
	}
	return err
}

// drop closes the connection; the next call dials again.
func (c *rpcClient) drop() {
	_ = c.conn.Close()
	c.conn, c.lim, c.dec = nil, nil, nil
}

// roundTrip sends one request and reads its reply. connOK is false when
// the connection can no longer be trusted.
func (c *rpcClient) roundTrip(method string, params,
	out any) (connOK bool, err error) {

	c.seq++
	id := "chanfitness:" + method + "#" + strconv.FormatUint(c.seq, 10)
	req, err := json.Marshal(rpcRequest{JSONRPC: "2.0", ID: id,
		Method: method, Params: params})
	if err != nil {
		return true, fmt.Errorf("rpc %s: %w", method, err)
	}
	if _, err := c.conn.Write(append(req, frameEnd...)); err != nil {
		return false, fmt.Errorf("rpc %s: send: %w", method, err)
	}
	wantID, _ := json.Marshal(id)
	for {
		var resp rpcResponse
		if err := c.dec.Decode(&resp); err != nil {
			return false, fmt.Errorf("rpc %s: read reply: %w",
				method, err)
		}
		if !bytes.Equal(resp.ID, wantID) {
			// Not ours (a reply to an aborted call): skip it.
			continue
		}
		if resp.Error != nil {
			return true, fmt.Errorf("rpc %s: error %d: %s",
				method, resp.Error.Code, resp.Error.Message)
		}
		if err := json.Unmarshal(resp.Result, out); err != nil {
			return true, fmt.Errorf("rpc %s: decode reply: %w",
				method, err)
		}
		return true, nil
	}
}

// Close closes the connection, if any, once the call in progress is done.
func (c *rpcClient) Close() error {
	c.turn <- struct{}{}
	defer func() { <-c.turn }()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn, c.lim, c.dec = nil, nil, nil
	return err
}

// GetInfo calls getinfo.
func (c *rpcClient) GetInfo(ctx context.Context) (nodeInfo, error) {
	var info nodeInfo
	err := c.call(ctx, "getinfo", struct{}{}, &info)
	return info, err
}

// ListPeers calls listpeers. Since v24.05 its entries have no channels;
// the client never reads them.
func (c *rpcClient) ListPeers(ctx context.Context) ([]peerInfo, error) {
	var res struct {
		Peers *[]peerInfo `json:"peers"`
	}
	if err := c.call(ctx, "listpeers", struct{}{}, &res); err != nil {
		return nil, err
	}
	if res.Peers == nil {
		return nil, noList("listpeers", "peers")
	}
	return *res.Peers, nil
}

// noList is the error of a list command whose reply lacks its list: an
// empty list would say that the node has no channels or peers.
func noList(method, field string) error {
	return fmt.Errorf("rpc %s: %w: reply without %q", method,
		core.ErrBadInput, field)
}

// peerFilter is the params of the list commands that take a peer id.
type peerFilter struct {
	ID string `json:"id,omitempty"`
}

func filterFor(peer *core.PeerID) peerFilter {
	if peer == nil {
		return peerFilter{}
	}
	return peerFilter{ID: peer.String()}
}

// ListPeerChannels calls listpeerchannels, for one peer when peer is set.
func (c *rpcClient) ListPeerChannels(ctx context.Context,
	peer *core.PeerID) ([]peerChannel, error) {

	var res struct {
		Channels *[]peerChannel `json:"channels"`
	}
	err := c.call(ctx, "listpeerchannels", filterFor(peer), &res)
	if err != nil {
		return nil, err
	}
	if res.Channels == nil {
		return nil, noList("listpeerchannels", "channels")
	}
	return *res.Channels, nil
}

// ListClosedChannels calls listclosedchannels, for one peer when peer is
// set.
func (c *rpcClient) ListClosedChannels(ctx context.Context,
	peer *core.PeerID) ([]closedChannel, error) {

	var res struct {
		Channels *[]closedChannel `json:"closedchannels"`
	}
	err := c.call(ctx, "listclosedchannels", filterFor(peer), &res)
	if err != nil {
		return nil, err
	}
	if res.Channels == nil {
		return nil, noList("listclosedchannels", "closedchannels")
	}
	return *res.Channels, nil
}

// historyRPC is what a node that keeps its own network history (Core
// Lightning v25.12 and later) answers. The unix-socket client implements
// it; an older node fails both calls.
type historyRPC interface {
	// StartedAt returns when lightningd started (getlog's created_at).
	StartedAt(ctx context.Context) (time.Time, error)

	// ListNetworkEvents returns up to limit records of the node's
	// network history from created_index start on.
	ListNetworkEvents(ctx context.Context, start uint64,
		limit uint32) ([]networkEvent, error)
}

var _ historyRPC = (*rpcClient)(nil)

// Network event types of listnetworkevents.
const (
	netConnect     = "connect"
	netDisconnect  = "disconnect"
	netConnectFail = "connect_fail"
	netPing        = "ping"
)

// networkEvent is a listnetworkevents entry.
type networkEvent struct {
	CreatedIndex uint64 `json:"created_index"`
	PeerID       string `json:"peer_id"`
	Type         string `json:"type"`

	// Timestamp is in seconds (a whole number, or with a fraction).
	Timestamp json.Number `json:"timestamp"`

	// DurationNsec is a ping's round trip (ping only).
	DurationNsec *uint64 `json:"duration_nsec"`
}

// time returns the entry's timestamp.
func (e networkEvent) time() (time.Time, error) {
	return parseUnixSeconds(e.Timestamp.String())
}

// parseUnixSeconds parses seconds since 1970, with an optional fraction
// of up to nine digits.
func parseUnixSeconds(s string) (time.Time, error) {
	sec, frac, dot := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || n < 0 || len(frac) > 9 || (dot && frac == "") {
		return time.Time{}, fmt.Errorf("%w: time %s: not seconds "+
			"since 1970", core.ErrBadInput, core.Quote(s))
	}
	var ns int64
	if dot {
		f, err := strconv.ParseUint(frac, 10, 32)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: time %s: not "+
				"seconds since 1970", core.ErrBadInput,
				core.Quote(s))
		}
		ns = int64(f)
		for i := len(frac); i < 9; i++ {
			ns *= 10
		}
	}
	return time.Unix(n, ns).UTC(), nil
}

// StartedAt calls getlog (at level broken, so that it lists little) for
// its created_at, the time lightningd started logging.
func (c *rpcClient) StartedAt(ctx context.Context) (time.Time, error) {
	var res struct {
		CreatedAt json.RawMessage `json:"created_at"`
	}
	if err := c.call(ctx, "getlog", map[string]string{"level": "broken"},
		&res); err != nil {
		return time.Time{}, err
	}
	s := strings.Trim(string(res.CreatedAt), `"`)
	if s == "" {
		return time.Time{}, errors.New("rpc getlog: no created_at")
	}
	t, err := parseUnixSeconds(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("rpc getlog: created_at: %w", err)
	}
	return t, nil
}

// ListNetworkEvents calls listnetworkevents by created index.
func (c *rpcClient) ListNetworkEvents(ctx context.Context, start uint64,
	limit uint32) ([]networkEvent, error) {

	var res struct {
		Events *[]networkEvent `json:"networkevents"`
	}
	err := c.call(ctx, "listnetworkevents", map[string]any{
		"index": "created", "start": start, "limit": limit}, &res)
	if err != nil {
		return nil, err
	}
	if res.Events == nil {
		return nil, noList("listnetworkevents", "networkevents")
	}
	return *res.Events, nil
}
