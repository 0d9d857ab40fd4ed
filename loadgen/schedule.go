package loadgen

import (
	"math"
	"time"
)

// lateness is how far past its due time an open-loop request may be sent
// before it counts as late.
const lateness = int64(time.Millisecond)

// schedule is one level's timetable, in nanoseconds after the level's
// epoch: when the measured interval begins and ends and, in open loop,
// when each client's requests are due. It is arithmetic on a value that
// every loop copies and none writes, so it needs no lock and no Linux, and
// it is tested on its own (schedule_test.go).
//
// Open loop sends on the timetable whether or not the server keeps up, and
// measures latency from the due time rather than from the send: a server
// that stalls then shows a long latency for every request that should have
// gone out during the stall, where a closed-loop client would wait politely
// and record one slow request (coordinated omission). The timetable also
// says which requests the client itself failed to send on time: late ones,
// sent more than lateness after they were due, and unsent ones, due in the
// measured interval and never sent. Either means the numbers describe the
// load generator as much as the server.
type schedule struct {
	// warmEnd is when the measured interval starts: the warm-up's length.
	warmEnd int64
	// end is when the measured interval ends, or math.MaxInt64 when the
	// level ends after a number of requests instead of a duration.
	end int64
	// interval is the time between two requests of one client in open
	// loop; 0 means closed loop, where a request is due when the last one
	// is answered.
	interval int64
	// clients is how many clients share the rate; their first due times
	// are spread evenly over one interval, so that the total rate is smooth
	// rather than a burst of one request per client every interval.
	clients int64
}

// newSchedule returns the timetable of a level of cfg with this many
// clients.
func newSchedule(cfg *Config, clients int) schedule {
	s := schedule{warmEnd: int64(cfg.Warmup), clients: int64(clients)}
	s.end = s.warmEnd + int64(cfg.Duration)
	if cfg.Requests > 0 {
		s.end = math.MaxInt64
	}
	if cfg.Rate > 0 {
		// Each client sends its share, Rate/clients per second.
		s.interval = int64(float64(clients) * 1e9 / cfg.Rate)
	}
	return s
}

// open reports whether requests follow the timetable (open loop) rather
// than the answers (closed loop).
func (s schedule) open() bool { return s.interval > 0 }

// second returns which second of the measured interval t falls in, or -1
// in the warm-up.
func (s schedule) second(t int64) int {
	if t < s.warmEnd {
		return -1
	}
	return int((t - s.warmEnd) / int64(time.Second))
}

// first returns when the first request of client id is due. In closed
// loop it is 0: every client starts at once.
func (s schedule) first(id int) int64 {
	return int64(id) * s.interval / s.clients
}

// next returns when a client's request after the one due at due is due.
func (s schedule) next(due int64) int64 { return due + s.interval }

// late reports whether a request due at due and sent at sent counts as
// late: open loop, due within the measured interval, and sent more than
// lateness after its time.
func (s schedule) late(due, sent int64) bool {
	return s.interval > 0 && sent-due > lateness && due >= s.warmEnd && due < s.end
}

// unsent counts a client's requests that were due in the measured interval
// but will never be sent, because the loop is stopping at stop and the
// client's next request is due at next. From a client still behind from
// the warm-up it counts from the start of the interval, which may count
// one request too many: a bound, not an exact count.
func (s schedule) unsent(next, stop int64) int64 {
	if s.interval == 0 {
		return 0
	}
	end := min(s.end, stop)
	from := max(next, s.warmEnd)
	if from >= end {
		return 0
	}
	return (end - from + s.interval - 1) / s.interval
}
