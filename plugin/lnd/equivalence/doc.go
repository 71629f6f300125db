// Package equivalence runs lnd's own channel-fitness subsystem (package
// chanfitness of lnd v0.21.1-beta, the version pinned in go.mod) side by
// side with core.Monitor on the same inputs, in the same process, to show
// that the numbers the monitor shares with lnd (docs/semantics.md, "Where
// it differs from lnd, and why") come out the same, and to compare their
// speed and memory.
// `make bench` ends with the table that benchtable prints from the
// benchmarks of this package.
//
// The lnd side is driven through its public surface only: fake channel and
// peer subscriptions, a test clock and a forced flap-count ticker (see
// LND). The test in this package generates random event sequences
// (Generate), applies every step to lnd and to core.Monitor (memory and
// badger stores), compares every open channel's lifetime and uptime and
// every tracked peer's flap count and last flap after every step, and on a
// difference shrinks the sequence to the shortest one that still shows it.
//
// Known differences between lnd v0.21.1-beta and the monitor (the four of
// docs/semantics.md), and how the generator handles them:
//
//   - lnd ignores notifications from peers it does not track, so it does not
//     know their state when their first channel is added, and seeds every new
//     peer monitor as online (getOrCreatePeerMonitor calls onlineEvent(true)).
//     core applies the peer's last known state instead. The generator
//     therefore opens a peer's first channel only while its last
//     notification did not say offline (Valid enforces this, also while
//     shrinking). core, like lnd, takes a peer never heard of as online.
//   - A funding outpoint is spent when its channel closes, so a closed
//     channel point never opens again. lnd would accept such a reopen while
//     core keeps the closed channel visible; the generator never reuses a
//     channel point. This models the chain, not an lnd error.
//   - lnd answers a flap-count query for a peer it does not track with 0 and
//     no last flap; core answers core.ErrPeerNotFound. The comparison
//     accepts exactly that pair.
//   - lnd forgets a closed channel (chanfitness.ErrChannelNotFound); core
//     keeps it, closed, with its numbers frozen. The comparison checks that
//     lnd forgot it and that core reports it closed (or not at all).
package equivalence
