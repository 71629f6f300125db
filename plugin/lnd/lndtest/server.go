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
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lightningnetwork/lnd/lnrpc"
	"github.com/lightningnetwork/lnd/lnrpc/chainrpc"
	"github.com/lightningnetwork/lnd/macaroons"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
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
