// Package exchange is the request side of an event loop's connection,
// written once for the loops that share it (models/epoll, models/uring):
// the input not yet answered, the answers not yet written, the request in
// progress, why the connection ends, and its clocks. A loop embeds a Conn
// in its own connection type, next to what is its own: how it waits for
// the socket (epoll's interest, io_uring's operations in flight).
//
// The state machine: the loop takes input into In and calls Answer, which
// hands each complete line to the loop's begin. begin calls Begin, which
// does the work that does not wait and finishes the request at once, or
// says how long it must sleep; a sleep is the loop's to wait out, its own
// way (a timer in its heap), and then it calls WorkDone. Finish queues the
// answer in Out. Writing Out, and closing once Closing and all is written,
// are the loop's again: that is how it waits. What a request is (its
// framing, the line limit, its work, its count) is models.Lines, the
// request loop of every model; a Conn keeps that loop's state between
// waits.
package exchange

import (
	"time"

	"iolab/models"
	"iolab/models/internal/deadline"
)

// Conn is one connection's exchange of requests and answers. Its fields are
// the loop's to read; Answer, Begin and Finish change them, and the loop
// changes Out, Sent, Active and the rest only as it writes, reads or
// closes.
type Conn struct {
	Rec     models.ConnRecord  // the bookkeeping logged when it closes
	In      *models.LineBuffer // echo input not yet answered; nil for the greeting
	Out     []byte             // answers not yet written, from Out[Sent:]
	Sent    int                // bytes of Out already written
	Reply   []byte             // the answer owed to the request in progress: its line, or the greeting
	Asleep  bool               // that request's work is in progress (a sleep timer, or a worker)
	Closing bool               // close once Out is written, with reason After
	After   models.Reason      // why it closes, once Closing
	Closed  bool               // closed and logged by the loop; timers that still point here are stale
	Active  deadline.Clock     // last read or write, for the idle timeout
	// The two deadlines that progress does not push back, set and cleared
	// by the loop's settle through Clocks, and checked by the sweep (Late).
	Writing deadline.Clock // since when Out has held unsent answers; zero when all is written
	Reading deadline.Clock // since when it has waited for the rest of a line; zero with no part of one
}

// New returns the exchange of a connection opened at now, logged as rec.
// An echo connection gets its LineBuffer; a greeting connection has no
// input, and the loop begins its one request, the greeting, at once.
//
// The LineBuffer's memory comes from the loop's pool, and goes back to it
// when the connection rests (Rest).
func New(cfg *models.Config, pool *models.BufferPool, rec models.ConnRecord, now time.Time) Conn {
	x := Conn{Rec: rec, Active: deadline.At(now)}
	if cfg.Proto != models.Greeting {
		x.In = models.NewPooledLineBuffer(cfg.MaxLine, pool)
	}
	return x
}

// Rest gives the input buffer back to the loop's pool if the connection
// has nothing in hand: no input unanswered and no request in progress (a
// reply may point into In until it finishes). A loop calls it once it has
// settled a connection, so an idle connection holds no buffer.
func (x *Conn) Rest() {
	if x.In != nil && !x.Asleep {
		x.In.Release()
	}
}

// Answer begins the complete lines in In, in order, with begin, until none
// is left or one must wait: the request loop of models.Lines, whose waits
// are the loop's. begin is the loop's, since how a request waits is: it
// calls Begin, or hands the work elsewhere. After a line too long, the
// connection answers ErrLineReply and closes. During the shutdown, a
// connection left with nothing in progress closes once its answers are
// written.
func (x *Conn) Answer(draining bool, begin func(reply []byte)) {
	lines := x.lines(nil) // framing needs no Config: In has the line limit
	for !x.Asleep && !x.Closing {
		line, end, closing := lines.Next(x.In, draining)
		if line == nil {
			if closing {
				x.Closing, x.After = true, end
			}
			break
		}
		x.Reading = 0 // the line is complete: its clock stops
		begin(line)
	}
}

// lines is the request loop over the connection's input and answers.
func (x *Conn) lines(cfg *models.Config) models.Lines {
	return models.Lines{Cfg: cfg, Rec: &x.Rec, Out: &x.Out}
}

// Begin starts a request whose answer is reply: the echoed line, or the
// greeting. models.BeginWork does the work that does not wait (cpu work
// spins right here, holding up every other connection of the loop: that
// is the lesson), and the request finishes at once, unless a sleep is
// owed: then the connection is asleep, and Begin returns the sleep for
// the loop to wait out without blocking, after which it calls WorkDone.
// reply may point into In: it stays valid because a loop takes no input
// while asleep (TakesInput).
func (x *Conn) Begin(cfg *models.Config, reply []byte) (sleep time.Duration) {
	x.Reply = reply
	if sleep = x.lines(cfg).Begin(reply); sleep > 0 {
		x.Asleep = true
		return sleep
	}
	x.Finish(cfg)
	return 0
}

// Finish queues the answer to the request, whose work is done. After the
// greeting the conversation is over: the connection closes once it is
// written. Out may grow while the loop writes from it (a send in flight,
// in io_uring); the loop keeps what it writes from alive by itself.
func (x *Conn) Finish(cfg *models.Config) {
	x.lines(cfg).Answer(x.Reply)
	x.Reply, x.Asleep = nil, false
	if cfg.Proto == models.Greeting {
		x.Closing, x.After = true, models.ReasonDone
	}
}

// WorkDone finishes the request whose work is over (its sleep timer
// fired, or a worker of the offload pool did its cpu work), and begins the
// lines that came meanwhile, with begin as in Answer. It reports false,
// and does nothing, if the connection has closed since; else the loop
// then settles it.
func (x *Conn) WorkDone(cfg *models.Config, draining bool, begin func(reply []byte)) bool {
	if x.Closed {
		return false
	}
	x.Finish(cfg)
	if x.In != nil {
		x.Answer(draining, begin)
	}
	return true
}

// TakesInput reports whether the connection takes input now: it is not
// asleep or closing, and all its answers are written. A loop reads only
// then ("one read, one batch"): so Out holds the answers to one
// LineBuffer's worth of lines at most, MaxLine bytes, or else the
// ErrLineReply alone, within cfg.OutputCap(), and the write deadline is
// kept per batch, not per answer.
func (x *Conn) TakesInput() bool {
	return x.In != nil && !x.Asleep && !x.Closing && x.Sent == len(x.Out)
}

// Clocks starts and stops the write and request deadlines from the
// state, as a loop derives what it waits for; the loop's settle calls it
// once the state has settled:
//
//   - the write clock runs while answers wait in Out, from the moment Out
//     stops being empty; a partial write does not restart it, so a client
//     that reads a trickle is closed as ReasonWriteTimeout IdleTimeout
//     after the batch was offered (one answer, one deadline);
//   - the request clock runs while the connection takes input and holds
//     part of a line, from the moment the loop is left with nothing but
//     that part (Answer stops it when the line completes). Time the loop
//     spends on earlier lines, asleep or writing, is not the client's, so
//     the clock does not run then.
func (x *Conn) Clocks(now time.Time) {
	deadline.Follow(&x.Writing, x.Sent < len(x.Out), now)
	deadline.Follow(&x.Reading, x.TakesInput() && x.In.Buffered() > 0, now)
}

// Late reports whether the connection is past one of its deadlines at now,
// and which (deadline.Late).
func (x *Conn) Late(cfg *models.Config, now time.Time) (models.Reason, bool) {
	return deadline.Late(cfg, now, x.Active, x.Writing, x.Reading, x.Asleep)
}
