//go:build !race

package models_test

// relRace is true when the tests run under the race detector.
const relRace = false
