//go:build race

package memory

// raceEnabled: the race detector maps memory of its own as the test runs,
// which a limit on the address space makes fail.
const raceEnabled = true
