package lndsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/wire"
	"github.com/chanfitness/chanfitness/core"
	"github.com/lightningnetwork/lnd/lnrpc"
	"github.com/lightningnetwork/lnd/lnrpc/chainrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// BlockInterval is the mean time between blocks that an estimated open
// time assumes.
const BlockInterval = 10 * time.Minute

// genesisTime is the time of Bitcoin's first block: no channel opened
// before it. An estimate is never earlier (on testnet3, with its millions
// of fast blocks, 10 minutes a block would reach back centuries), and a
// header time before it is not believed.
var genesisTime = time.Date(2009, 1, 3, 18, 15, 5, 0, time.UTC)

// Alias short channel ids (zero-conf and scid-alias channels before they
// confirm) use block heights from aliasStart to aliasEnd; they say nothing
// of when the channel opened.
const (
	aliasStart = 16_000_000
	aliasEnd   = 16_250_000
)

// BlockReader is the part of lnd's chainrpc.ChainKitClient the companion
// uses to read the time of a channel's funding block. A Client that also
// implements it is asked for block headers when CanReadBlocks is true.
type BlockReader interface {
	// CanReadBlocks reports whether the macaroon may call the two
	// methods below (onchain:read).
	CanReadBlocks() bool

	GetBlockHash(ctx context.Context, in *chainrpc.GetBlockHashRequest,
		opts ...grpc.CallOption) (*chainrpc.GetBlockHashResponse, error)
	GetBlockHeader(ctx context.Context,
		in *chainrpc.GetBlockHeaderRequest, opts ...grpc.CallOption) (
		*chainrpc.GetBlockHeaderResponse, error)
}

// fundingHeight returns the block height of a channel's funding
// transaction from its confirmed short channel id, 0 when it has none yet
// (a zero-conf channel before it confirms, or an alias).
func fundingHeight(ch *lnrpc.Channel) uint32 {
	scid := ch.GetChanId()
	if ch.GetZeroConf() {
		scid = ch.GetZeroConfConfirmedScid()
	}
	for _, a := range ch.GetAliasScids() {
		if a == scid {
			return 0
		}
	}
	h := uint32(scid >> 40)
	if h >= aliasStart && h < aliasEnd {
		return 0
	}
	return h
}

// blockTimes reads and caches the times of funding blocks. Only Run's
// goroutine uses it.
type blockTimes struct {
	// times holds the header time of each height asked for by the
	// latest snapshots.
	times map[uint32]time.Time

	// off is set when lnd cannot serve headers to this macaroon (no
	// onchain:read, or lnd built without chainrpc): the times are then
	// estimated until the companion restarts.
	off bool

	// bad are the heights whose header was not usable: not asked for
	// again until the companion restarts.
	bad map[uint32]bool
}

// errNoHeaders marks a failure that asking again will not cure.
var errNoHeaders = errors.New("lnd serves no block headers")

// errBadHeader marks a header that lnd served but that is not usable.
var errBadHeader = errors.New("block header not usable")

// headerTime returns the time in the header of the block at height h.
func headerTime(ctx context.Context, br BlockReader, h uint32) (time.Time,
	error) {

	hash, err := br.GetBlockHash(ctx, &chainrpc.GetBlockHashRequest{
		BlockHeight: int64(h),
	})
	if err != nil {
		return time.Time{}, headerErr("GetBlockHash", err)
	}
	resp, err := br.GetBlockHeader(ctx, &chainrpc.GetBlockHeaderRequest{
		BlockHash: hash.GetBlockHash(),
	})
	if err != nil {
		return time.Time{}, headerErr("GetBlockHeader", err)
	}
	var hdr wire.BlockHeader
	raw := resp.GetRawBlockHeader()
	if err := hdr.Deserialize(bytes.NewReader(raw)); err != nil {
		return time.Time{}, fmt.Errorf("%w: GetBlockHeader of height "+
			"%d: %d bytes are no block header: %v", errBadHeader, h,
			len(raw), err)
	}
	if hdr.Timestamp.Before(genesisTime) {
		return time.Time{}, fmt.Errorf("%w: GetBlockHeader of height "+
			"%d: block time %v is before Bitcoin's first block",
			errBadHeader, h, hdr.Timestamp.UTC())
	}
	return hdr.Timestamp.UTC(), nil
}

// headerErr wraps errNoHeaders around a denied or unserved call.
func headerErr(method string, err error) error {
	switch status.Code(err) {
	case codes.PermissionDenied, codes.Unimplemented:
		return fmt.Errorf("%w: %s: %v", errNoHeaders, method, err)
	}
	return fmt.Errorf("%s: %w", method, err)
}

// setOpenTimes gives each channel of snap with a funding height an open
// time: its funding block's time when lnd serves headers to the macaroon
// (source node), else the snapshot's time less BlockInterval per block
// since (source estimated).
func (s *Source) setOpenTimes(ctx context.Context, c Client,
	snap *core.Snapshot) {

	br, ok := c.(BlockReader)
	read := ok && br.CanReadBlocks() && !s.blocks.off
	times := make(map[uint32]time.Time)
	for i := range snap.Channels {
		sc := &snap.Channels[i]
		h := sc.FundingHeight
		if h == 0 {
			continue
		}
		if t, ok := times[h]; ok {
			sc.OpenedAt, sc.OpenedAtSource = t, core.OpenedAtNode
			continue
		}
		if t, ok := s.blocks.times[h]; ok {
			times[h] = t
			sc.OpenedAt, sc.OpenedAtSource = t, core.OpenedAtNode
			continue
		}
		if read && !s.blocks.bad[h] {
			t, err := s.readHeader(ctx, br, h)
			switch {
			case err == nil:
				times[h] = t
				sc.OpenedAt = t
				sc.OpenedAtSource = core.OpenedAtNode
				continue
			case errors.Is(err, errBadHeader):
				if s.blocks.bad == nil {
					s.blocks.bad = make(map[uint32]bool)
				}
				s.blocks.bad[h] = true
				s.cfg.Logger.Warnf("funding block of channel "+
					"%v: %v (its open time is estimated)",
					sc.Point, err)
			case errors.Is(err, errNoHeaders):
				s.blocks.off = true
				read = false
				s.cfg.Logger.Infof("open times of channels "+
					"older than the companion are estimated "+
					"from their funding height: %v", err)
			default:
				// Asked again at the next snapshot; not now,
				// so that an lnd that does not answer cannot
				// hold the snapshot a call timeout per channel.
				read = false
				s.cfg.Logger.Warnf("funding block of channel "+
					"%v: %v (open times are estimated until "+
					"the next snapshot)", sc.Point, err)
			}
		}
		if snap.BlockHeight == 0 {
			continue
		}
		blocks := int64(0)
		if snap.BlockHeight > h {
			blocks = int64(snap.BlockHeight - h)
		}
		sc.OpenedAt = genesisTime
		if back := time.Duration(blocks) * BlockInterval; back <
			snap.Time.Sub(genesisTime) {

			sc.OpenedAt = snap.Time.Add(-back)
		}
		sc.OpenedAtSource = core.OpenedAtEstimated
	}
	s.blocks.times = times
}

// readHeader calls headerTime with the call timeout.
func (s *Source) readHeader(ctx context.Context, br BlockReader,
	h uint32) (time.Time, error) {

	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	return headerTime(ctx, br, h)
}
