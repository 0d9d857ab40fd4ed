package models

import "time"

// Clocks are what a connection's timeouts are measured from, in
// nanoseconds on a time base of the caller's choice (the same for all
// three, and for the deadline Deadline returns); 0 means a clock is
// stopped. Every model keeps them its own way: an event loop in its
// connection state, a blocking model as the moments it is about to wait.
type Clocks struct {
	Active  int64 // the last read or write
	Writing int64 // since when answers have waited unsent; 0 when all is written
	Reading int64 // since when part of a line has waited for the rest; 0 when none does
	Asleep  bool  // the request's work is in progress: that wait is the server's, not the client's
}

// Deadline is the timeout rule of every model: it returns when the
// connection times out, on the clocks' time base, and the reason it is
// closed with then; a zero due when no timeout runs. The timeouts are:
//
//   - ReasonWriteTimeout, Config.IdleTimeout after answers began to wait
//     unsent, however slowly the client takes some of them: one answer,
//     one deadline, not restarted by partial progress;
//   - ReasonIdle, Config.IdleTimeout after the last read or write, while
//     no answer waits and no work is in progress;
//   - ReasonRequestTimeout, Config.RequestTimeout after part of a line
//     began to wait for the rest, however often a byte of it comes, so
//     that a client sending a byte now and then cannot keep the
//     connection for ever.
//
// The earliest applies; on a tie, the request timeout, the more precise
// reason. A model that blocks sets its read or write deadline to due; an
// event loop's sweep closes the connection once due has passed.
func (c Clocks) Deadline(cfg *Config) (reason Reason, due int64) {
	switch {
	case c.Writing != 0:
		reason, due = ReasonWriteTimeout, c.Writing+int64(cfg.IdleTimeout)
	case !c.Asleep:
		reason, due = ReasonIdle, c.Active+int64(cfg.IdleTimeout)
	}
	if c.Reading != 0 {
		if d := c.Reading + int64(cfg.RequestTimeout); due == 0 || d <= due {
			reason, due = ReasonRequestTimeout, d
		}
	}
	return reason, due
}

// clock returns t on the time base of a blocking model's Clocks: the
// monotonic nanoseconds since the process began, as ConnRecord.Start.
func clock(t time.Time) int64 { return int64(t.Sub(processStart)) }

// clockTime is the moment a clock of that time base stands for.
func clockTime(c int64) time.Time { return processStart.Add(time.Duration(c)) }
