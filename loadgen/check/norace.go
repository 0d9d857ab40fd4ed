//go:build !race

package check

// raceDetector is true when this program was built with the race
// detector.
const raceDetector = false
