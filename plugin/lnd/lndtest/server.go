// Package lndtest is an in-process stand-in for lnd's RPC server, for
// tests: gRPC over TLS on 127.0.0.1 with a self-signed certificate, lnd's
// own macaroon checks, and the calls the companion makes (GetInfo,
// ListChannels, ListPeers, ClosedChannels, SubscribeChannelEvents,
// SubscribePeerEvents, and ChainKit's GetBlockHash and GetBlockHeader on a
// chain whose block times the test sets). Tests change the node's state and the server sends
// the matching events to every subscriber, unless SetSilent holds them
// back.
package lndtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"
	"github.com/lightningnetwork/lnd/lnrpc"
	"github.com/lightningnetwork/lnd/lnrpc/chainrpc"
	"github.com/lightningnetwork/lnd/macaroons"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"gopkg.in/macaroon-bakery.v2/bakery"
)

// WaitTimeout bounds every wait of this package.
const WaitTimeout = 10 * time.Second

// Identity is the server's node public key.
const Identity = "03" +
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// ErrWalletLocked is the error lnd's RPC interceptor returns for every
// Lightning call while the wallet is locked (same text).
var ErrWalletLocked = errors.New("wallet locked, unlock it to enable " +
	"full RPC access")

// permissions are the permissions lnd requires per method.
var permissions = map[string]bakery.Op{
	"/lnrpc.Lightning/GetInfo":      {Entity: "info", Action: "read"},
	"/lnrpc.Lightning/ListChannels": {Entity: "offchain", Action: "read"},
	"/lnrpc.Lightning/SubscribeChannelEvents": {Entity: "offchain",
		Action: "read"},
	"/lnrpc.Lightning/ClosedChannels": {Entity: "offchain",
		Action: "read"},
	"/lnrpc.Lightning/ListPeers": {Entity: "peers", Action: "read"},
	"/lnrpc.Lightning/SubscribePeerEvents": {Entity: "peers",
		Action: "read"},
	"/chainrpc.ChainKit/GetBlockHash": {Entity: "onchain",
		Action: "read"},
	"/chainrpc.ChainKit/GetBlockHeader": {Entity: "onchain",
		Action: "read"},
}

// Server is a fake lnd. Its methods are safe for concurrent use.
type Server struct {
	// Host is the RPC address, 127.0.0.1:<port>.
	Host string

	// CertPath is the server's tls.cert.
	CertPath string

	dir     string
	creds   credentials.TransportCredentials
	rootKey []byte
	svc     *macaroons.Service

	mu       sync.Mutex
	srv      *grpc.Server
	served   chan struct{}
	channels map[string]*lnrpc.Channel
	closing  map[string]*lnrpc.Channel
	closed   []*lnrpc.ChannelCloseSummary
	online   map[string]bool
	// pingTime is each peer's ping time in microseconds (ListPeers).
	pingTime map[string]int64
	locked   bool
	silent   bool
	failNext map[string]error
	holds    map[string]*hold
	calls    map[string]int
	chanSubs map[*sub[*lnrpc.ChannelEventUpdate]]bool
	peerSubs map[*sub[*lnrpc.PeerEvent]]bool
	changed  chan struct{}

	// height is the chain's tip; blockTime gives the time of each block
	// (nil: GetBlockHash knows no block). noChain makes ChainKit
	// unimplemented, as in an lnd built without chainrpc.
	height    uint32
	blockTime func(height uint32) time.Time
	noChain   bool
}

// service is the gRPC face of a Server.
type service struct {
	lnrpc.UnimplementedLightningServer
	s *Server
}

// chainService is the ChainKit face of a Server.
type chainService struct {
	chainrpc.UnimplementedChainKitServer
	s *Server
}

// sub is one open event stream.
type sub[T any] struct {
	events chan T
	end    chan error
}

func newSub[T any]() *sub[T] {
	return &sub[T]{events: make(chan T, 4096), end: make(chan error, 1)}
}

// rootKeyStore hands out one root key, as lnd's default root key id.
type rootKeyStore struct {
	key []byte
}

// Get implements bakery.RootKeyStore.
func (r rootKeyStore) Get(_ context.Context, id []byte) ([]byte, error) {
	if string(id) != string(macaroons.DefaultRootKeyID) {
		return nil, bakery.ErrNotFound
	}
	return r.key, nil
}

// RootKey implements bakery.RootKeyStore.
func (r rootKeyStore) RootKey(context.Context) ([]byte, []byte, error) {
	return r.key, macaroons.DefaultRootKeyID, nil
}

// New starts a fake lnd on 127.0.0.1 and stops it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	dir := t.TempDir()
	certPath := filepath.Join(dir, "tls.cert")
	cert, err := WriteCert(certPath)
	require.NoError(t, err)

	rootKey := make([]byte, macaroons.RootKeyLen)
	_, err = rand.Read(rootKey)
	require.NoError(t, err)
	svc, err := macaroons.NewService(rootKeyStore{key: rootKey}, "lnd",
		false, macaroons.IPLockChecker, macaroons.IPRangeLockChecker)
	require.NoError(t, err)

	s := &Server{
		CertPath: certPath,
		dir:      dir,
		creds:    credentials.NewServerTLSFromCert(&cert),
		rootKey:  rootKey,
		svc:      svc,
		channels: make(map[string]*lnrpc.Channel),
		closing:  make(map[string]*lnrpc.Channel),
		online:   make(map[string]bool),
		pingTime: make(map[string]int64),
		failNext: make(map[string]error),
		holds:    make(map[string]*hold),
		calls:    make(map[string]int),
		chanSubs: make(map[*sub[*lnrpc.ChannelEventUpdate]]bool),
		peerSubs: make(map[*sub[*lnrpc.PeerEvent]]bool),
		changed:  make(chan struct{}),
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.Host = lis.Addr().String()
	s.serve(lis)
	t.Cleanup(s.Stop)
	return s
}

// serve starts the gRPC server on lis.
func (s *Server) serve(lis net.Listener) {
	srv := grpc.NewServer(grpc.Creds(s.creds),
		grpc.UnaryInterceptor(s.unaryCheck),
		grpc.StreamInterceptor(s.streamCheck))
	lnrpc.RegisterLightningServer(srv, service{s: s})
	chainrpc.RegisterChainKitServer(srv, chainService{s: s})
	served := make(chan struct{})
	s.mu.Lock()
	s.srv, s.served = srv, served
	s.mu.Unlock()
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
}

// Stop stops the server (lnd going away): open streams end and new calls
// fail until Start. It is safe to call more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, served := s.srv, s.served
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Stop()
	<-served
}

// Start serves again on the same address after Stop (lnd restarted),
// keeping the node's state.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	lis, err := net.Listen("tcp", s.Host)
	require.NoError(t, err)
	s.serve(lis)
}

// Macaroon writes a macaroon granting perms ("entity:action", such as
// "info:read" or "uri:/lnrpc.Lightning/GetInfo") and returns its path.
func (s *Server) Macaroon(t testing.TB, perms ...string) string {
	t.Helper()
	return bake(t, s.dir, s.rootKey, perms)
}

// ForeignMacaroon writes a macaroon granting perms that is signed with
// another root key, as if baked by another node, and returns its path.
func (s *Server) ForeignMacaroon(t testing.TB, perms ...string) string {
	t.Helper()
	key := make([]byte, macaroons.RootKeyLen)
	_, err := rand.Read(key)
	require.NoError(t, err)
	return bake(t, s.dir, key, perms)
}

// bake writes a macaroon with the given root key and permissions.
func bake(t testing.TB, dir string, key []byte, perms []string) string {
	t.Helper()
	ops := make([]bakery.Op, 0, len(perms))
	for _, p := range perms {
		i := strings.IndexByte(p, ':')
		require.Positive(t, i, "permission %q", p)
		ops = append(ops, bakery.Op{Entity: p[:i], Action: p[i+1:]})
	}
	mac, err := macaroons.BakeFromRootKey(key, ops)
	require.NoError(t, err)
	b, err := mac.MarshalBinary()
	require.NoError(t, err)
	f, err := os.CreateTemp(dir, "*.macaroon")
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return f.Name()
}

// check applies lnd's state and macaroon checks to a call.
func (s *Server) check(ctx context.Context, method string) error {
	s.mu.Lock()
	s.calls[method]++
	locked := s.locked
	s.notifyLocked()
	s.mu.Unlock()
	if locked {
		return ErrWalletLocked
	}
	op, ok := permissions[method]
	if !ok {
		return fmt.Errorf("%s: unknown permissions required for method",
			method)
	}
	return s.svc.ValidateMacaroon(ctx, []bakery.Op{op}, method)
}

func (s *Server) unaryCheck(ctx context.Context, req any,
	info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {

	if err := s.check(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	if err := s.takeFailure(info.FullMethod); err != nil {
		return nil, err
	}
	s.wait(ctx, info.FullMethod)
	return h(ctx, req)
}

func (s *Server) streamCheck(srv any, ss grpc.ServerStream,
	info *grpc.StreamServerInfo, h grpc.StreamHandler) error {

	if err := s.check(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	if err := s.takeFailure(info.FullMethod); err != nil {
		return err
	}
	return h(srv, ss)
}

// takeFailure returns and forgets the error set by FailNext for method.
func (s *Server) takeFailure(method string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := method[strings.LastIndexByte(method, '/')+1:]
	err := s.failNext[name]
	delete(s.failNext, name)
	return err
}

// hold is a call held by Hold.
type hold struct {
	reached chan struct{}
	release chan struct{}
}

// Hold makes the next call of method (such as "ListChannels") wait, once
// it passed the checks, until release is called. reached is closed when
// the call starts to wait. Only unary calls are held.
func (s *Server) Hold(method string) (reached <-chan struct{},
	release func()) {

	h := &hold{reached: make(chan struct{}),
		release: make(chan struct{})}
	s.mu.Lock()
	s.holds[method] = h
	s.mu.Unlock()
	var once sync.Once
	return h.reached, func() { once.Do(func() { close(h.release) }) }
}

// wait waits while a call of method is held, or until the client goes
// away.
func (s *Server) wait(ctx context.Context, method string) {
	name := method[strings.LastIndexByte(method, '/')+1:]
	s.mu.Lock()
	h := s.holds[name]
	delete(s.holds, name)
	s.mu.Unlock()
	if h == nil {
		return
	}
	close(h.reached)
	select {
	case <-h.release:
	case <-ctx.Done():
	}
}

// FailNext makes the next call of method (such as "ListChannels") fail
// with err.
func (s *Server) FailNext(method string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[method] = err
}

// SetSilent makes the state changes that follow send no events (true)
// or send them again (false), as lnd does for a subscription it has not
// registered yet.
func (s *Server) SetSilent(silent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silent = silent
}

// SetLocked locks or unlocks the wallet: while locked every call fails
// as lnd's do.
func (s *Server) SetLocked(locked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.locked = locked
}

// Calls returns how many times method (such as "GetInfo", or
// "GetBlockHeader" of ChainKit) was called, refused calls included.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls["/lnrpc.Lightning/"+method] +
		s.calls["/chainrpc.ChainKit/"+method]
}

// SetChain sets the chain's tip height and the time of each block up to
// it, as GetInfo and ChainKit report them.
func (s *Server) SetChain(height uint32, blockTime func(uint32) time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.height, s.blockTime = height, blockTime
}

// SetNoChainKit makes ChainKit's calls fail as with an lnd built without
// chainrpc (true), or serves them again (false).
func (s *Server) SetNoChainKit(off bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noChain = off
}

// UpdateChannel changes an open channel in place (its zero-conf fields,
// say) without sending an event.
func (s *Server) UpdateChannel(point string, f func(*lnrpc.Channel)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[point]
	if !ok {
		panic("lndtest: update of unknown channel " + point)
	}
	f(ch)
}

// GetBlockHash implements chainrpc.ChainKitServer. The fake's block hash
// holds the block's height in its first four bytes.
func (v chainService) GetBlockHash(_ context.Context,
	in *chainrpc.GetBlockHashRequest) (*chainrpc.GetBlockHashResponse,
	error) {
	s := v.s

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noChain {
		return nil, status.Error(codes.Unimplemented,
			"unknown service chainrpc.ChainKit")
	}
	h := in.GetBlockHeight()
	if s.blockTime == nil || h < 0 || h > int64(s.height) {
		return nil, status.Errorf(codes.NotFound, "no block at "+
			"height %d", h)
	}
	hash := make([]byte, 32)
	binary.LittleEndian.PutUint32(hash, uint32(h))
	return &chainrpc.GetBlockHashResponse{BlockHash: hash}, nil
}

// GetBlockHeader implements chainrpc.ChainKitServer: an 80-byte header
// whose timestamp is the block's time.
func (v chainService) GetBlockHeader(_ context.Context,
	in *chainrpc.GetBlockHeaderRequest) (*chainrpc.GetBlockHeaderResponse,
	error) {
	s := v.s

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noChain {
		return nil, status.Error(codes.Unimplemented,
			"unknown service chainrpc.ChainKit")
	}
	hash := in.GetBlockHash()
	if len(hash) != 32 || s.blockTime == nil {
		return nil, status.Errorf(codes.NotFound, "no block %x", hash)
	}
	h := binary.LittleEndian.Uint32(hash)
	hdr := wire.BlockHeader{Version: 4,
		Timestamp: s.blockTime(h).Truncate(time.Second), Nonce: h}
	var buf bytes.Buffer
	if err := hdr.Serialize(&buf); err != nil {
		return nil, err
	}
	return &chainrpc.GetBlockHeaderResponse{
		RawBlockHeader: buf.Bytes()}, nil
}

// Subscribers returns the number of open channel and peer event streams.
func (s *Server) Subscribers() (chans, peers int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.chanSubs), len(s.peerSubs)
}

// notifyLocked wakes every Wait; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Wait waits until cond holds, checking it after every change of the
// server's state (calls and subscriptions), and fails the test after
// WaitTimeout.
func (s *Server) Wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(WaitTimeout)
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			require.FailNow(t, "timed out waiting for "+what)
		}
	}
}

// WaitSubscribed waits until both event streams are open n times.
func (s *Server) WaitSubscribed(t testing.TB, n int) {
	t.Helper()
	s.Wait(t, fmt.Sprintf("%d subscriptions", n), func() bool {
		c, p := s.Subscribers()
		return c == n && p == n
	})
}

// GetInfo implements lnrpc.LightningServer.
func (v service) GetInfo(context.Context,
	*lnrpc.GetInfoRequest) (*lnrpc.GetInfoResponse, error) {
	s := v.s

	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, on := range s.online {
		if on {
			n++
		}
	}
	return &lnrpc.GetInfoResponse{
		IdentityPubkey:    Identity,
		Alias:             "lndtest",
		Version:           "0.21.1-beta lndtest",
		NumActiveChannels: uint32(len(s.channels)),
		NumPeers:          uint32(n),
		BlockHeight:       s.height,
		SyncedToChain:     true,
	}, nil
}

// ListChannels implements lnrpc.LightningServer.
func (v service) ListChannels(context.Context,
	*lnrpc.ListChannelsRequest) (*lnrpc.ListChannelsResponse, error) {
	s := v.s

	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &lnrpc.ListChannelsResponse{}
	for _, ch := range s.channels {
		c := proto.Clone(ch).(*lnrpc.Channel)
		c.Active = s.online[ch.RemotePubkey]
		resp.Channels = append(resp.Channels, c)
	}
	sort.Slice(resp.Channels, func(i, j int) bool {
		return resp.Channels[i].ChannelPoint <
			resp.Channels[j].ChannelPoint
	})
	return resp, nil
}

// ListPeers implements lnrpc.LightningServer.
func (v service) ListPeers(context.Context,
	*lnrpc.ListPeersRequest) (*lnrpc.ListPeersResponse, error) {
	s := v.s

	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &lnrpc.ListPeersResponse{}
	for p, on := range s.online {
		if on {
			resp.Peers = append(resp.Peers, &lnrpc.Peer{PubKey: p,
				Address: "127.0.0.1:9735", Inbound: true,
				PingTime: s.pingTime[p]})
		}
	}
	sort.Slice(resp.Peers, func(i, j int) bool {
		return resp.Peers[i].PubKey < resp.Peers[j].PubKey
	})
	return resp, nil
}

// ClosedChannels implements lnrpc.LightningServer.
func (v service) ClosedChannels(context.Context,
	*lnrpc.ClosedChannelsRequest) (*lnrpc.ClosedChannelsResponse, error) {
	s := v.s

	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &lnrpc.ClosedChannelsResponse{}
	for _, c := range s.closed {
		resp.Channels = append(resp.Channels,
			proto.Clone(c).(*lnrpc.ChannelCloseSummary))
	}
	return resp, nil
}

// SubscribeChannelEvents implements lnrpc.LightningServer.
func (v service) SubscribeChannelEvents(_ *lnrpc.ChannelEventSubscription,
	stream lnrpc.Lightning_SubscribeChannelEventsServer) error {

	return serve(stream.Context(), v.s, v.s.chanSubs, stream.Send)
}

// SubscribePeerEvents implements lnrpc.LightningServer.
func (v service) SubscribePeerEvents(_ *lnrpc.PeerEventSubscription,
	stream lnrpc.Lightning_SubscribePeerEventsServer) error {

	return serve(stream.Context(), v.s, v.s.peerSubs, stream.Send)
}

// serve registers a subscription in subs for as long as its stream lasts
// and pumps its events into the stream.
func serve[T any](ctx context.Context, s *Server, subs map[*sub[T]]bool,
	send func(T) error) error {

	su := newSub[T]()
	s.mu.Lock()
	subs[su] = true
	s.notifyLocked()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(subs, su)
		s.notifyLocked()
		s.mu.Unlock()
	}()
	return pump(ctx, su, send)
}

// pump sends a subscription's events until it is ended or the client
// goes away.
func pump[T any](ctx context.Context, su *sub[T], send func(T) error) error {
	for {
		select {
		case ev := <-su.events:
			if err := send(ev); err != nil {
				return err
			}
		case err := <-su.end:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// SendChannelEvent sends up to every channel event subscriber.
func (s *Server) SendChannelEvent(up *lnrpc.ChannelEventUpdate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendChannelLocked(up)
}

func (s *Server) sendChannelLocked(up *lnrpc.ChannelEventUpdate) {
	if s.silent {
		return
	}
	for su := range s.chanSubs {
		su.events <- up
	}
}

// SendPeerEvent sends ev to every peer event subscriber.
func (s *Server) SendPeerEvent(ev *lnrpc.PeerEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendPeerLocked(ev)
}

func (s *Server) sendPeerLocked(ev *lnrpc.PeerEvent) {
	if s.silent {
		return
	}
	for su := range s.peerSubs {
		su.events <- ev
	}
}

// EndStreams ends every open event stream with err (nil ends them
// cleanly, as lnd does not).
func (s *Server) EndStreams(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for su := range s.chanSubs {
		su.end <- err
	}
	for su := range s.peerSubs {
		su.end <- err
	}
}

// OpenChannel adds an open channel with peer and sends OPEN_CHANNEL.
func (s *Server) OpenChannel(point, peer string, chanID uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := &lnrpc.Channel{
		ChannelPoint: point,
		RemotePubkey: peer,
		ChanId:       chanID,
		Capacity:     1_000_000,
	}
	s.channels[point] = ch
	s.sendChannelLocked(&lnrpc.ChannelEventUpdate{
		Type: lnrpc.ChannelEventUpdate_OPEN_CHANNEL,
		Channel: &lnrpc.ChannelEventUpdate_OpenChannel{
			OpenChannel: proto.Clone(ch).(*lnrpc.Channel),
		},
	})
}

// BroadcastClose makes an open channel wait for its closing transaction
// to confirm: ListChannels no longer lists it, ClosedChannels not yet,
// and no event is sent, as with lnd.
func (s *Server) BroadcastClose(point string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[point]
	if !ok {
		panic("lndtest: close of unknown channel " + point)
	}
	delete(s.channels, point)
	s.closing[point] = ch
}

// CloseChannel removes an open channel, or one waiting for its closing
// transaction, records its close summary and sends CLOSED_CHANNEL.
func (s *Server) CloseChannel(point string,
	typ lnrpc.ChannelCloseSummary_ClosureType) {

	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[point]
	if !ok {
		ch, ok = s.closing[point]
	}
	if !ok {
		panic("lndtest: close of unknown channel " + point)
	}
	delete(s.channels, point)
	delete(s.closing, point)
	sum := &lnrpc.ChannelCloseSummary{
		ChannelPoint:  point,
		ChanId:        ch.ChanId,
		RemotePubkey:  ch.RemotePubkey,
		Capacity:      ch.Capacity,
		CloseHeight:   uint32(ch.ChanId>>40) + 10,
		ClosingTxHash: strings.Repeat("cd", 32),
		CloseType:     typ,
	}
	s.closed = append(s.closed, sum)
	s.sendChannelLocked(&lnrpc.ChannelEventUpdate{
		Type: lnrpc.ChannelEventUpdate_CLOSED_CHANNEL,
		Channel: &lnrpc.ChannelEventUpdate_ClosedChannel{
			ClosedChannel: proto.Clone(sum).(*lnrpc.ChannelCloseSummary),
		},
	})
}

// SetOnline connects or disconnects peer and sends PEER_ONLINE or
// PEER_OFFLINE (also when the state does not change, as lnd may).
func (s *Server) SetOnline(peer string, online bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.online[peer] = online
	typ := lnrpc.PeerEvent_PEER_OFFLINE
	if online {
		typ = lnrpc.PeerEvent_PEER_ONLINE
	}
	s.sendPeerLocked(&lnrpc.PeerEvent{PubKey: peer, Type: typ})
}

// PeerKey returns a well-formed peer public key numbered i.
func PeerKey(i int) string {
	return fmt.Sprintf("02%064x", i)
}

// ChanPoint returns a well-formed channel point numbered i, in lnd's
// "txid:index" form.
func ChanPoint(i int) string {
	return fmt.Sprintf("%064x:%d", i, i%3)
}

// SetPingTime sets the ping time ListPeers gives for peer, in
// microseconds.
func (s *Server) SetPingTime(peer string, us int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pingTime[peer] = us
}
