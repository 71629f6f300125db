package lndsource

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chanfitness/chanfitness/plugin/lnd/lndtest"
	"github.com/lightningnetwork/lnd/macaroons"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gopkg.in/macaroon.v2"
)

func TestMacaroonPermissions(t *testing.T) {
	srv := lndtest.New(t)
	var uris []string
	for _, m := range methods {
		uris = append(uris, "uri:"+m.uri)
	}
	tests := []struct {
		name        string
		perms       []string
		wantMissing []string
		wantWrites  []string
		wantExtra   []string
	}{{
		name:  "least privilege",
		perms: []string{"peers:read", "info:read", "offchain:read"},
	}, {
		name:  "method scoped",
		perms: uris,
	}, {
		name: "method scoped without ClosedChannels",
		perms: []string{"uri:/lnrpc.Lightning/GetInfo",
			"uri:/lnrpc.Lightning/ListChannels",
			"uri:/lnrpc.Lightning/SubscribeChannelEvents",
			"uri:/lnrpc.Lightning/ListPeers",
			"uri:/lnrpc.Lightning/SubscribePeerEvents"},
		wantMissing: []string{"offchain:read"},
	}, {
		name: "read only",
		perms: []string{"info:read", "offchain:read", "onchain:read",
			"peers:read", "invoices:read", "macaroon:read"},
		wantExtra: []string{"invoices:read", "macaroon:read"},
	}, {
		name: "admin",
		perms: []string{"info:read", "info:write", "offchain:read",
			"offchain:write", "peers:read", "peers:write",
			"macaroon:generate"},
		wantWrites: []string{"info:write", "macaroon:generate",
			"offchain:write", "peers:write"},
		wantExtra: []string{"info:write", "macaroon:generate",
			"offchain:write", "peers:write"},
	}, {
		name:        "nothing we need",
		perms:       []string{"invoices:read"},
		wantMissing: []string{"info:read", "offchain:read", "peers:read"},
		wantExtra:   []string{"invoices:read"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := srv.Macaroon(t, tc.perms...)
			mac, err := LoadMacaroon(path)
			require.NoError(t, err)
			p, err := MacaroonPermissions(mac)
			require.NoError(t, err)
			require.ElementsMatch(t, tc.perms, p.Ops)
			require.Equal(t, tc.wantMissing, p.Missing())
			require.Equal(t, tc.wantWrites, p.Writes())
			require.Equal(t, tc.wantExtra, p.Extra())

			err = p.Check(path)
			if tc.wantMissing == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrPermission)
			require.ErrorContains(t, err, path)
			require.ErrorContains(t, err, BakeCommand)
			for _, m := range tc.wantMissing {
				require.ErrorContains(t, err, m)
			}
		})
	}
}

// TestCanReadBlocks: onchain:read, or both ChainKit methods the
// companion calls, let it read funding block times; one method does not.
func TestCanReadBlocks(t *testing.T) {
	for _, tc := range []struct {
		ops  []string
		want bool
	}{
		{[]string{"info:read", "offchain:read", "peers:read"}, false},
		{[]string{"info:read", "onchain:read"}, true},
		{[]string{"onchain:write"}, false},
		{[]string{"uri:/chainrpc.ChainKit/GetBlockHash",
			"uri:/chainrpc.ChainKit/GetBlockHeader"}, true},
		{[]string{"uri:/chainrpc.ChainKit/GetBlockHash"}, false},
	} {
		require.Equal(t, tc.want, Permissions{Ops: tc.ops}.CanReadBlocks(),
			"%v", tc.ops)
	}
	p := Permissions{Ops: []string{"info:read", "offchain:read",
		"peers:read", "uri:/chainrpc.ChainKit/GetBlockHash",
		"uri:/chainrpc.ChainKit/GetBlockHeader"}}
	require.Empty(t, p.Missing())
	require.Empty(t, p.Extra(), "the optional methods are used")
}

func TestLoadMacaroonErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.macaroon")
	require.NoError(t, os.WriteFile(junk, []byte("not a macaroon"),
		0o600))

	_, err := LoadMacaroon(filepath.Join(dir, "missing.macaroon"))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, "missing.macaroon")

	_, err = LoadMacaroon(junk)
	require.ErrorIs(t, err, ErrBadMacaroon)
	require.ErrorContains(t, err, junk)
}

func TestMacaroonCredential(t *testing.T) {
	srv := lndtest.New(t)
	mac, err := LoadMacaroon(srv.Macaroon(t, "info:read"))
	require.NoError(t, err)
	cred, err := macaroons.NewMacaroonCredential(mac)
	require.NoError(t, err)
	require.True(t, cred.RequireTransportSecurity())
	md, err := cred.GetRequestMetadata(context.Background())
	require.NoError(t, err)
	require.Len(t, md, 1)

	// lnd reads the macaroon back from hex in the "macaroon" key.
	raw, err := hex.DecodeString(md["macaroon"])
	require.NoError(t, err)
	sent := &macaroon.Macaroon{}
	require.NoError(t, sent.UnmarshalBinary(raw))
	require.Equal(t, mac.Id(), sent.Id())
	require.Equal(t, mac.Signature(), sent.Signature())
}

func TestClassify(t *testing.T) {
	cfg := ConnConfig{Host: "127.0.0.1:10009",
		TLSCertPath: "/x/tls.cert", MacaroonPath: "/x/cf.macaroon"}
	tests := []struct {
		name     string
		method   string
		err      error
		want     error
		mentions []string
	}{{
		name:   "permission denied",
		method: "ListPeers",
		err:    status.Error(codes.Unknown, "permission denied"),
		want:   ErrPermission,
		mentions: []string{"ListPeers", "peers:read", "/x/cf.macaroon",
			BakeCommand},
	}, {
		name:     "permission denied code",
		method:   "ClosedChannels",
		err:      status.Error(codes.PermissionDenied, "no"),
		want:     ErrPermission,
		mentions: []string{"offchain:read"},
	}, {
		name:   "foreign macaroon",
		method: "GetInfo",
		err: status.Error(codes.Unknown, "verification failed: "+
			"signature mismatch after caveat verification"),
		want:     ErrBadMacaroon,
		mentions: []string{"/x/cf.macaroon", "baked by this lnd node"},
	}, {
		name:   "deleted root key",
		method: "GetInfo",
		err: status.Error(codes.Unknown, "cannot get macaroon: root "+
			"key with id 1 doesn't exist"),
		want: ErrBadMacaroon,
	}, {
		name:     "wallet locked",
		method:   "GetInfo",
		err:      status.Error(codes.Unknown, lndtest.ErrWalletLocked.Error()),
		want:     ErrWalletLocked,
		mentions: []string{"lncli unlock", "127.0.0.1:10009"},
	}, {
		name:   "wallet not created",
		method: "GetInfo",
		err: status.Error(codes.Unknown, "wallet not created, create "+
			"one to enable full RPC access"),
		want: ErrStarting,
	}, {
		name:   "rpc starting",
		method: "GetInfo",
		err: status.Error(codes.Unknown, "the RPC server is in the "+
			"process of starting up, but not yet ready to accept calls"),
		want: ErrStarting,
	}, {
		name:   "unlocker only",
		method: "GetInfo",
		err: status.Error(codes.Unimplemented, "unknown service "+
			"lnrpc.Lightning"),
		want:     ErrStarting,
		mentions: []string{"wallet locked or lnd starting"},
	}, {
		name:   "bad certificate",
		method: "GetInfo",
		err: status.Error(codes.Unavailable, "connection error: desc = "+
			"\"transport: authentication handshake failed: tls: "+
			"failed to verify certificate: x509: certificate signed "+
			"by unknown authority\""),
		want:     ErrTLS,
		mentions: []string{"/x/tls.cert"},
	}, {
		name:   "refused",
		method: "GetInfo",
		err: status.Error(codes.Unavailable, "connection error: desc = "+
			"\"transport: Error while dialing: dial tcp "+
			"127.0.0.1:10009: connect: connection refused\""),
		want: ErrUnreachable,
	}, {
		name:   "timeout",
		method: "ListChannels",
		err:    status.Error(codes.DeadlineExceeded, "deadline exceeded"),
		want:   ErrUnreachable,
	}, {
		name:     "other",
		method:   "ListChannels",
		err:      status.Error(codes.Internal, "database busy"),
		mentions: []string{"lnd ListChannels", "database busy"},
	}, {
		name:   "cancelled",
		method: "ListChannels",
		err:    fmt.Errorf("call: %w", context.Canceled),
		want:   context.Canceled,
	}}
	sentinels := []error{ErrPermission, ErrBadMacaroon, ErrUnreachable,
		ErrTLS, ErrWalletLocked, ErrStarting}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := cfg.Classify(tc.method, tc.err)
			for _, s := range sentinels {
				require.Equal(t, errors.Is(tc.want, s),
					errors.Is(got, s), "%v is %v", got, s)
			}
			if tc.want != nil {
				require.ErrorIs(t, got, tc.want)
			}
			for _, m := range tc.mentions {
				require.ErrorContains(t, got, m)
			}
			require.Equal(t, errors.Is(tc.want, ErrPermission) ||
				errors.Is(tc.want, ErrBadMacaroon), fatal(got))
		})
	}
	require.NoError(t, cfg.Classify("GetInfo", nil))
}

func TestShortChannelID(t *testing.T) {
	tests := []struct {
		name string
		id   uint64
		want string
	}{
		{name: "zero", id: 0, want: ""},
		{name: "typical", id: 812345<<40 | 12<<16 | 1,
			want: "812345x12x1"},
		{name: "largest", id: 1<<64 - 1,
			want: "16777215x16777215x65535"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, shortChannelID(tc.id))
		})
	}
}
