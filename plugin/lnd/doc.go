// Package lndsource connects the chanfitness monitor to an lnd node: it
// implements core.EventSource over lnd's gRPC interface (lnrpc) with a
// least-privilege macaroon (info:read, offchain:read, peers:read, and
// optionally onchain:read). It lives in plugin/lnd and is named apart from
// the lnd packages it imports.
//
// A Source subscribes to lnd's channel and peer event streams, then takes a
// snapshot with GetInfo, ListChannels and ListPeers and passes it to the
// sink, then feeds the streamed events in arrival order. While connected
// it takes a snapshot again at each reconcile tick and syncs it in its
// place among the events, to repair any event lnd did not send (it may answer the
// first snapshot before the streams are registered). When lnd goes away
// it tells the sink, reconnects with capped exponential backoff and
// jitter, and starts over.
//
// A snapshot gives each channel the height of its funding block (from its
// confirmed short channel id) and an open time: the funding block's
// header time read with ChainKit when the macaroon has onchain:read, else
// an estimate of BlockInterval per block since. The monitor uses it for a
// channel it did not see open.
package lndsource

import "errors"

var (
	// ErrPermission means the macaroon lacks a permission the companion
	// needs. Retrying does not help.
	ErrPermission = errors.New("macaroon permission missing")

	// ErrBadMacaroon means the macaroon cannot be read or lnd rejects
	// it. Retrying does not help.
	ErrBadMacaroon = errors.New("macaroon not usable")

	// ErrUnreachable means lnd's RPC server cannot be reached.
	ErrUnreachable = errors.New("lnd unreachable")

	// ErrTLS means the TLS certificate cannot be read or does not match
	// the one lnd presents.
	ErrTLS = errors.New("lnd TLS certificate not accepted")

	// ErrWalletLocked means lnd runs but its wallet is locked.
	ErrWalletLocked = errors.New("lnd wallet locked")

	// ErrStarting means lnd runs but its RPC services are not ready yet.
	ErrStarting = errors.New("lnd not ready")
)

// fatal reports whether err cannot be cured by retrying.
func fatal(err error) bool {
	return errors.Is(err, ErrPermission) || errors.Is(err, ErrBadMacaroon)
}

// gone reports whether err, from a call on a connection that worked so
// far, means that lnd went away (unreachable, restarted with a new
// certificate, locked or starting) or that retrying cannot help.
func gone(err error) bool {
	return fatal(err) || errors.Is(err, ErrUnreachable) ||
		errors.Is(err, ErrTLS) || errors.Is(err, ErrWalletLocked) ||
		errors.Is(err, ErrStarting)
}
