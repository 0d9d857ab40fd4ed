package loadgen

import (
	"math"
	"testing"
	"time"
)

const ms = int64(time.Millisecond)

func TestNewSchedule(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     Config
		clients int
		want    schedule
	}{
		{"closed loop", Config{Warmup: time.Second, Duration: 5 * time.Second}, 10,
			schedule{warmEnd: 1000 * ms, end: 6000 * ms, interval: 0, clients: 10}},
		{"open loop, one client", Config{Warmup: time.Second, Duration: 5 * time.Second, Rate: 1000}, 1,
			schedule{warmEnd: 1000 * ms, end: 6000 * ms, interval: 1 * ms, clients: 1}},
		{"open loop, the rate shared", Config{Duration: time.Second, Rate: 1000}, 4,
			schedule{warmEnd: 0, end: 1000 * ms, interval: 4 * ms, clients: 4}},
		{"open loop, a fraction of a ns rounds down", Config{Duration: time.Second, Rate: 3}, 1,
			schedule{warmEnd: 0, end: 1000 * ms, interval: 333_333_333, clients: 1}},
		{"requests instead of duration", Config{Warmup: time.Second, Duration: 5 * time.Second, Requests: 100}, 2,
			schedule{warmEnd: 1000 * ms, end: math.MaxInt64, clients: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := newSchedule(&tc.cfg, tc.clients)
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if got.open() != (tc.cfg.Rate > 0) {
				t.Errorf("open() = %v with rate %v", got.open(), tc.cfg.Rate)
			}
		})
	}
}

// TestScheduleFirst checks that the clients' first due times are spread
// evenly over one interval, so that the total rate is smooth from the
// start, and that in closed loop every client starts at once.
func TestScheduleFirst(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    schedule
		want []int64 // by client id
	}{
		{"closed loop", schedule{clients: 3}, []int64{0, 0, 0}},
		{"one client", schedule{interval: 10 * ms, clients: 1}, []int64{0}},
		{"four clients", schedule{interval: 4 * ms, clients: 4}, []int64{0, 1 * ms, 2 * ms, 3 * ms}},
		{"three clients, rounded down", schedule{interval: 10 * ms, clients: 3}, []int64{0, 3_333_333, 6_666_666}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for id, want := range tc.want {
				got := tc.s.first(id)
				if got != want {
					t.Errorf("first(%d) = %d, want %d", id, got, want)
				}
				if tc.s.open() && (got < 0 || got >= tc.s.interval) {
					t.Errorf("first(%d) = %d, not within one interval of %d", id, got, tc.s.interval)
				}
			}
		})
	}
}

// TestScheduleDueTimes walks one client's timetable: every request is due
// one interval after the last, whenever the last was actually sent.
func TestScheduleDueTimes(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    schedule
		id   int
		want []int64
	}{
		{"client 0", schedule{interval: 4 * ms, clients: 4}, 0, []int64{0, 4 * ms, 8 * ms, 12 * ms}},
		{"client 3", schedule{interval: 4 * ms, clients: 4}, 3, []int64{3 * ms, 7 * ms, 11 * ms, 15 * ms}},
		{"closed loop: no timetable", schedule{clients: 4}, 3, []int64{0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			due := tc.s.first(tc.id)
			for i, want := range tc.want {
				if due != want {
					t.Errorf("request %d due at %d, want %d", i, due, want)
				}
				due = tc.s.next(due)
			}
		})
	}
}

func TestScheduleSecond(t *testing.T) {
	s := schedule{warmEnd: 500 * ms, end: 3500 * ms, interval: ms, clients: 1}
	for _, tc := range []struct {
		t    int64
		want int
	}{
		{0, -1},
		{500*ms - 1, -1},
		{500 * ms, 0},
		{1500*ms - 1, 0},
		{1500 * ms, 1},
		{3499 * ms, 2},
	} {
		if got := s.second(tc.t); got != tc.want {
			t.Errorf("second(%d) = %d, want %d", tc.t, got, tc.want)
		}
	}
}

func TestScheduleLate(t *testing.T) {
	open := schedule{warmEnd: 100 * ms, end: 1100 * ms, interval: 10 * ms, clients: 1}
	closed := open
	closed.interval = 0
	for _, tc := range []struct {
		name      string
		s         schedule
		due, sent int64
		want      bool
	}{
		{"on time", open, 200 * ms, 200 * ms, false},
		{"exactly lateness after", open, 200 * ms, 200*ms + lateness, false},
		{"a ns past lateness", open, 200 * ms, 200*ms + lateness + 1, true},
		{"due in the warm-up", open, 90 * ms, 150 * ms, false},
		{"due at the start of the interval", open, 100 * ms, 150 * ms, true},
		{"due at the end", open, 1100 * ms, 1200 * ms, false},
		{"due just before the end", open, 1100*ms - 1, 1200 * ms, true},
		{"closed loop is never late", closed, 200 * ms, 900 * ms, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.late(tc.due, tc.sent); got != tc.want {
				t.Errorf("late(%d, %d) = %v, want %v", tc.due, tc.sent, got, tc.want)
			}
		})
	}
}

// TestScheduleLateCount runs one client through its timetable with a
// stall, as a loop does: every request is sent when it is due or when the
// client is free again, whichever is later, and late counts those sent
// more than lateness after their time.
func TestScheduleLateCount(t *testing.T) {
	s := schedule{warmEnd: 10 * ms, end: 110 * ms, interval: ms, clients: 1}
	for _, tc := range []struct {
		name            string
		from, until     int64 // the stall: no request is sent in [from, until)
		want, wantTotal int64 // late requests, requests sent in the interval
	}{
		{"no stall", 0, 0, 0, 100},
		{"a stall within lateness", 50 * ms, 51 * ms, 0, 100},
		// due at 50..59 ms, sent at 60 ms: those more than 1 ms late are
		// the ones due at 50..58.
		{"a 10 ms stall", 50 * ms, 60 * ms, 9, 100},
		{"a stall in the warm-up is not counted", 2 * ms, 8 * ms, 0, 100},
		{"a stall across the end", 105 * ms, 200 * ms, 5, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var late, total int64
			for due := s.first(0); due < s.end; due = s.next(due) {
				sent := due
				if due >= tc.from && due < tc.until {
					sent = tc.until
				}
				if s.late(due, sent) {
					late++
				}
				if due >= s.warmEnd {
					total++
				}
			}
			if late != tc.want || total != tc.wantTotal {
				t.Errorf("%d late of %d, want %d of %d", late, total, tc.want, tc.wantTotal)
			}
		})
	}
}

// TestScheduleUnsent counts, for one client, the requests due in the
// measured interval that a loop stopping at stop will never send.
func TestScheduleUnsent(t *testing.T) {
	open := schedule{warmEnd: 100 * ms, end: 1100 * ms, interval: 10 * ms, clients: 1}
	closed := open
	closed.interval = 0
	for _, tc := range []struct {
		name       string
		s          schedule
		next, stop int64
		want       int64
	}{
		{"kept up to the end", open, 1100 * ms, 1100 * ms, 0},
		{"next due after the end", open, 1105 * ms, 1100 * ms, 0},
		{"three behind", open, 1070 * ms, 1100 * ms, 3},
		{"a part of an interval counts as one", open, 1095 * ms, 1100 * ms, 1},
		{"stopped late: the end bounds it", open, 1070 * ms, 1500 * ms, 3},
		{"stopped early: the stop bounds it", open, 500 * ms, 600 * ms, 10},
		{"stopped early, before next", open, 700 * ms, 600 * ms, 0},
		{"never sent in the interval", open, 100 * ms, 1100 * ms, 100},
		{"behind since the warm-up, aligned", open, 90 * ms, 1100 * ms, 100},
		// Behind since the warm-up and not aligned with its end: counted
		// from the interval's start, a bound one above the exact count
		// (2: due at 109 and 119 ms).
		{"behind since the warm-up, a bound", open, 99 * ms, 128 * ms, 3},
		{"cancelled in the warm-up", open, 50 * ms, 80 * ms, 0},
		{"closed loop sends nothing on a timetable", closed, 0, 1100 * ms, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.unsent(tc.next, tc.stop); got != tc.want {
				t.Errorf("unsent(%d, %d) = %d, want %d", tc.next, tc.stop, got, tc.want)
			}
		})
	}
}
