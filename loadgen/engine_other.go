//go:build !linux

package loadgen

// The event loops are written on epoll(7), which only Linux has. Run
// returns errNeedsLinux before it dials anything; the rest of this file
// is what the coordinator (level.go) refers to, so that the package still
// builds and vets on a student's Mac.

// haveEpoll says Run cannot work here.
const haveEpoll = false

// loop stands in for the epoll event loop of loop_linux.go.
type loop struct {
	tally
	setupErr error
}

func newLoop(*level, int, int) (*loop, error) { return nil, errNeedsLinux }

func (*loop) run()   {}
func (*loop) close() {}

// UringUsable reports that the uring engine, like every engine here,
// needs Linux.
func UringUsable() error { return errNeedsLinux }
