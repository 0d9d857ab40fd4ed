//go:build race

package check

// raceDetector is true when this program, and so a model's server that
// runs it again, was built with the race detector: a process may then
// have at most 8128 goroutines, and its memory is not judged.
const raceDetector = true
