//go:build race

package badgerstore_test

// raceEnabled is set when the tests run with the race detector.
const raceEnabled = true
