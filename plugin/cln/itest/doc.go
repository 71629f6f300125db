// Package itest holds the integration test of the chanfitness plugin
// inside a real Core Lightning node on regtest, with btcd as its chain
// (through btcdcli, a bitcoin-cli stand-in) and real lnd nodes as its
// peers, all on loopback. It needs lightningd (CHANFITNESS_CLN: an install
// directory, a release tarball, or a directory holding one, unpacked into
// the repository's .cache/) and the lnd and btcd binaries
// (CHANFITNESS_LND_BINS, built by `make itest-bins`). Without them it is
// skipped, or fails when CI=true.
package itest
