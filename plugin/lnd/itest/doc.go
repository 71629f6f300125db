// Package itest holds the integration test of chanfitness-lnd against
// real lnd and btcd processes on regtest, on loopback. It needs the
// binaries in the directory named by CHANFITNESS_LND_BINS (`make test`
// builds them with build-bins.sh and sets it) and is skipped without it.
package itest
