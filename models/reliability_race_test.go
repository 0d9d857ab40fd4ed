//go:build race

package models_test

// relRace is true when the tests run under the race detector, which the
// children inherit: a process may then have at most 8128 goroutines.
const relRace = true
