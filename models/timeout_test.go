package models

import (
	"testing"
	"time"
)

// TestDeadline checks which timeout applies to a connection's clocks,
// and when.
func TestDeadline(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IdleTimeout, cfg.RequestTimeout = 10*time.Second, 2*time.Second
	const s = int64(time.Second)
	cases := []struct {
		name   string
		clocks Clocks
		want   Reason
		due    int64
	}{
		{"idle", Clocks{Active: 100 * s}, ReasonIdle, 110 * s},
		{"answers unsent, however active", Clocks{Active: 105 * s, Writing: 100 * s}, ReasonWriteTimeout, 110 * s},
		{"asleep: the wait is the server's", Clocks{Active: 100 * s, Asleep: true}, 0, 0},
		{"part of a line", Clocks{Active: 101 * s, Reading: 100 * s}, ReasonRequestTimeout, 102 * s},
		{"a tie is the request timeout's", Clocks{Active: 92 * s, Reading: 100 * s}, ReasonRequestTimeout, 102 * s},
		{"the idle timeout, earlier", Clocks{Active: 91 * s, Reading: 100 * s}, ReasonIdle, 101 * s},
	}
	for _, tc := range cases {
		r, due := tc.clocks.Deadline(&cfg)
		if due != tc.due || due != 0 && r != tc.want {
			t.Errorf("%s: got %v at %d, want %v at %d", tc.name, r, due, tc.want, tc.due)
		}
	}
}
