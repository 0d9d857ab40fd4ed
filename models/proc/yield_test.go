package proc

import (
	"testing"
	"time"
)

// TestYield: a loop that goes round as fast as it can yields once, on
// its first round, and then not again until yieldEvery has passed; a loop
// whose rounds are further apart than that yields every round.
func TestYield(t *testing.T) {
	calls := 0
	defer func(g func()) { gosched = g }(gosched)
	gosched = func() { calls++ }

	var y Yielder
	start := time.Now()
	for range 1000 {
		y.Yield()
	}
	if elapsed := time.Since(start); elapsed < yieldEvery && calls != 1 {
		t.Fatalf("1,000 rounds in %v: %d yields, want 1", elapsed, calls)
	}
	if calls < 1 {
		t.Fatalf("no yield on the first round")
	}

	y.last = time.Now().Add(-2 * yieldEvery) // the last yield is long past
	before := calls
	y.Yield()
	if calls != before+1 {
		t.Fatalf("a round %v after the last yield did not yield", 2*yieldEvery)
	}
	y.Yield()
	if time.Since(y.last) < yieldEvery && calls != before+1 {
		t.Fatalf("a round right after a yield yielded again")
	}
}
