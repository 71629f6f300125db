package lndtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/lightningnetwork/lnd/macaroons"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"gopkg.in/macaroon-bakery.v2/bakery"
)

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
