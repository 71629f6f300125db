package lndtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	"github.com/btcsuite/btcd/wire"
	"github.com/lightningnetwork/lnd/lnrpc/chainrpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// chainService is the ChainKit face of a Server.
type chainService struct {
	chainrpc.UnimplementedChainKitServer
	s *Server
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
