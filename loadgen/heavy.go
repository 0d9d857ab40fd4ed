package loadgen

import (
	"fmt"
	"math"
	"strings"
)

// A mixed load (Config.Heavy) marks a share of the echo lines as heavy:
// they begin with Config.HeavyMark, and a server given the same text as
// -work-mark does its work for them only. Which lines are heavy is
// decided by a hash of the client's id and the line's number, not by a
// random draw: the reply check recomputes it for the line it expects
// back, so it needs neither memory per line in flight nor a random source
// whose state a reply could get out of step with. Over many lines the
// hash's values spread evenly, so the share of heavy lines comes close to
// Config.Heavy, and the heavy lines fall at no regular interval that
// could line up with the pipeline or with the other clients.

// heavyLines is the rule of one load: which lines are heavy, and their
// mark.
type heavyLines struct {
	below uint64 // a line is heavy when its hash is below this: Heavy × 2³²
	mark  []byte // Config.HeavyMark
}

// newHeavyLines returns the rule of cfg; with Heavy 0, no line is heavy.
func newHeavyLines(cfg *Config) heavyLines {
	return heavyLines{below: uint64(math.Round(cfg.Heavy * (1 << 32))), mark: []byte(cfg.HeavyMark)}
}

// heavy reports whether line seq of client id is heavy.
func (h heavyLines) heavy(id, seq uint32) bool {
	return uint64(lineHash(id, seq)) < h.below
}

// markOf returns what line seq of client id begins with: the mark if it
// is heavy, nothing otherwise.
func (h heavyLines) markOf(id, seq uint32) []byte {
	if h.heavy(id, seq) {
		return h.mark
	}
	return nil
}

// lineHash mixes a client's id and a line's number into 32 bits spread
// evenly over their range: the finalizer of SplitMix64 (Steele, Lea and
// Flood, 2014), whose every input bit changes about half of the output
// bits, so that consecutive lines of one client are unrelated.
func lineHash(id, seq uint32) uint32 {
	x := uint64(id)<<32 | uint64(seq)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return uint32(x >> 32)
}

// plainStart are the bytes a plain line can begin with (putLine): a hex
// digit of the client's id or the line's number, padding, or the newline
// of a line of one byte.
const plainStart = "0123456789abcdefx\n"

// checkMark reports what is wrong with mark as the mark of heavy lines of
// size bytes: it must be there, fit in a line before its newline, hold no
// newline, and not begin as a plain line can, or the server would do the
// work for plain lines too.
func checkMark(mark string, size int) error {
	switch {
	case mark == "":
		return fmt.Errorf("empty heavy mark")
	case strings.Contains(mark, "\n"):
		return fmt.Errorf("heavy mark %q holds a newline, which would end the line", mark)
	case strings.IndexByte(plainStart, mark[0]) >= 0:
		return fmt.Errorf("heavy mark %q begins with %q, as a plain line can: the server could not tell them apart", mark, mark[0])
	case len(mark) >= size:
		return fmt.Errorf("heavy mark %q does not fit in a line of %d bytes, newline included", mark, size)
	}
	return nil
}
