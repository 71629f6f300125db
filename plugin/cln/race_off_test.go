//go:build !race

package cln_test

// raceEnabled tells that the tests run with the race detector; the plugin
// binary is then built with it too.
const raceEnabled = false
