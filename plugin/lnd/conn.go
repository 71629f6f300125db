package lndsource

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lightningnetwork/lnd/lnrpc"
	"github.com/lightningnetwork/lnd/lnrpc/chainrpc"
	"github.com/lightningnetwork/lnd/macaroons"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// maxMsgSize bounds one gRPC answer; ListChannels of a large node exceeds
// gRPC's 4 MB default (lncli allows 200 MB as well).
const maxMsgSize = 200 << 20

// ConnConfig says how to reach lnd.
type ConnConfig struct {
	// Host is lnd's RPC address, host:port.
	Host string

	// TLSCertPath is lnd's tls.cert.
	TLSCertPath string

	// MacaroonPath is the macaroon sent with every call.
	MacaroonPath string
}

// Client is the part of lnrpc.LightningClient the companion uses; a test
// can stand in for it.
type Client interface {
	GetInfo(ctx context.Context, in *lnrpc.GetInfoRequest,
		opts ...grpc.CallOption) (*lnrpc.GetInfoResponse, error)
	ListChannels(ctx context.Context, in *lnrpc.ListChannelsRequest,
		opts ...grpc.CallOption) (*lnrpc.ListChannelsResponse, error)
	ListPeers(ctx context.Context, in *lnrpc.ListPeersRequest,
		opts ...grpc.CallOption) (*lnrpc.ListPeersResponse, error)
	ClosedChannels(ctx context.Context, in *lnrpc.ClosedChannelsRequest,
		opts ...grpc.CallOption) (*lnrpc.ClosedChannelsResponse, error)
	SubscribeChannelEvents(ctx context.Context,
		in *lnrpc.ChannelEventSubscription, opts ...grpc.CallOption) (
		lnrpc.Lightning_SubscribeChannelEventsClient, error)
	SubscribePeerEvents(ctx context.Context,
		in *lnrpc.PeerEventSubscription, opts ...grpc.CallOption) (
		lnrpc.Lightning_SubscribePeerEventsClient, error)
}

// maxFileSize caps the files the adapter reads (lnd's certificate and a
// macaroon are a few kilobytes): a path that names a device or a huge file
// fails at once instead of filling the memory.
const maxFileSize = 1 << 20

// readFileCapped reads a file of at most maxFileSize bytes.
func readFileCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path,
			maxFileSize)
	}
	return b, nil
}

// Conn is a connection to lnd. It implements BlockReader.
type Conn struct {
	Client
	chain chainrpc.ChainKitClient
	cfg   ConnConfig
	conn  *grpc.ClientConn

	// blocks is set when the macaroon grants onchain:read (or both
	// ChainKit methods the companion calls).
	blocks bool
}

// CanReadBlocks reports whether the macaroon lets the companion read
// block headers.
func (c *Conn) CanReadBlocks() bool {
	return c.blocks
}

// GetBlockHash calls ChainKit's GetBlockHash.
func (c *Conn) GetBlockHash(ctx context.Context,
	in *chainrpc.GetBlockHashRequest, opts ...grpc.CallOption) (
	*chainrpc.GetBlockHashResponse, error) {

	return c.chain.GetBlockHash(ctx, in, opts...)
}

// GetBlockHeader calls ChainKit's GetBlockHeader.
func (c *Conn) GetBlockHeader(ctx context.Context,
	in *chainrpc.GetBlockHeaderRequest, opts ...grpc.CallOption) (
	*chainrpc.GetBlockHeaderResponse, error) {

	return c.chain.GetBlockHeader(ctx, in, opts...)
}

// Dial prepares a connection to lnd: it reads the TLS certificate and the
// macaroon, and connects lazily on the first call.
func Dial(cfg ConnConfig) (*Conn, error) {
	pem, err := readFileCapped(cfg.TLSCertPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTLS, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: %s holds no PEM certificate", ErrTLS,
			cfg.TLSCertPath)
	}
	creds := credentials.NewTLS(&tls.Config{
		RootCAs:    pool,
		MinVersion: tls.VersionTLS12,
	})
	mac, err := LoadMacaroon(cfg.MacaroonPath)
	if err != nil {
		return nil, err
	}
	macCred, err := macaroons.NewMacaroonCredential(mac)
	if err != nil {
		return nil, fmt.Errorf("%w: macaroon %s: %v", ErrBadMacaroon,
			cfg.MacaroonPath, err)
	}
	conn, err := grpc.NewClient(cfg.Host,
		grpc.WithTransportCredentials(creds),
		grpc.WithPerRPCCredentials(macCred),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsgSize)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:    30 * time.Second,
			Timeout: 20 * time.Second,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: lnd at %q: %v", ErrUnreachable,
			cfg.Host, err)
	}
	// A macaroon whose permissions cannot be read may still grant
	// them: lnd decides.
	blocks := true
	if p, err := MacaroonPermissions(mac); err == nil {
		blocks = p.CanReadBlocks()
	}
	return &Conn{
		Client: lnrpc.NewLightningClient(conn),
		chain:  chainrpc.NewChainKitClient(conn),
		cfg:    cfg,
		conn:   conn,
		blocks: blocks,
	}, nil
}

// Close closes the connection.
func (c *Conn) Close() error {
	return c.conn.Close()
}

// Classify turns an error of an lnd call into one that wraps a sentinel
// of this package (when it is one of the known cases) and says what to do
// about it. method is the RPC that failed.
func (c ConnConfig) Classify(method string, err error) error {
	if err == nil {
		return nil
	}
	st, _ := status.FromError(err)
	msg := st.Message()
	lower := strings.ToLower(msg)
	switch {
	case errors.Is(err, context.Canceled), st.Code() == codes.Canceled:
		return err

	case st.Code() == codes.PermissionDenied ||
		strings.Contains(lower, "permission denied"):

		perm := permissionOf(method)
		return fmt.Errorf("%w: lnd denied %s (needs %s) to macaroon "+
			"%s: %s; bake one with: %s", ErrPermission, method, perm,
			c.MacaroonPath, msg, BakeCommand)

	case strings.Contains(lower, "verification failed"),
		strings.Contains(lower, "cannot get macaroon"),
		strings.Contains(lower, "invalid id"),
		strings.Contains(lower, "unknown macaroon version"),
		strings.Contains(lower, "expected 1 macaroon"):

		return fmt.Errorf("%w: lnd rejected macaroon %s on %s: %s "+
			"(was it baked by this lnd node?)", ErrBadMacaroon,
			c.MacaroonPath, method, msg)

	case strings.Contains(lower, "wallet locked"):
		return fmt.Errorf("%w: lnd at %s: %s (unlock it with "+
			"`lncli unlock`)", ErrWalletLocked, c.Host, msg)

	case strings.Contains(lower, "wallet not created"),
		strings.Contains(lower, "waiting to start"),
		strings.Contains(lower, "in the process of starting up"):

		return fmt.Errorf("%w: lnd at %s: %s", ErrStarting, c.Host, msg)

	case st.Code() == codes.Unimplemented:
		// lnd serves only its wallet unlocker while the wallet is
		// locked (older versions answer so) or the server is starting.
		return fmt.Errorf("%w: lnd at %s does not serve %s yet (wallet "+
			"locked or lnd starting): %s", ErrStarting, c.Host,
			method, msg)

	case st.Code() == codes.Unavailable && isTLSError(lower):
		return fmt.Errorf("%w: TLS handshake with lnd at %s failed; is "+
			"%s lnd's current tls.cert? %s", ErrTLS, c.Host,
			c.TLSCertPath, msg)

	case st.Code() == codes.Unavailable,
		st.Code() == codes.DeadlineExceeded:

		return fmt.Errorf("%w: lnd at %s: %s", ErrUnreachable, c.Host,
			msg)
	}
	return fmt.Errorf("lnd %s: %w", method, err)
}

// isTLSError reports whether a transport error message is about the
// certificate or the handshake.
func isTLSError(msg string) bool {
	for _, s := range []string{"x509", "certificate", "tls:",
		"authentication handshake failed"} {

		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
