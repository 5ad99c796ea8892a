//go:build race

package plugin_test

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// allocation counts do not hold.
const raceEnabled = true
