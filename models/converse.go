package models

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// BlockingConn is a connection whose Read and Write park the caller until
// they are done: the thread in the kernel (sequential, threads, with
// sock.Conn), or the goroutine in Go's netpoller (goroutine, with a
// net.Conn, which satisfies it as it is).
type BlockingConn interface {
	// Read reads at least one byte, or returns io.EOF when the client has
	// closed its side, or an error that IsTimeout recognises once the read
	// deadline has passed.
	Read(p []byte) (int, error)
	// Write writes all of p, or returns an error: one that IsTimeout
	// recognises once the write deadline has passed, however much of p
	// the client took before.
	Write(p []byte) (int, error)
	// SetReadDeadline and SetWriteDeadline set when Read and Write fail,
	// as net.Conn's do: absolute times, not restarted by partial progress.
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

// Converse holds the whole conversation on one connection for the models
// that block: it reads requests, does their work (BeginWork, then a
// time.Sleep that parks the thread or goroutine), and writes the answers.
// It returns why the conversation ended; err is set for ReasonError. The
// caller owns the connection and closes it afterwards.
//
// tr tells Converse when the server is shutting down: a request read after
// that is not served, and an answer in progress is finished first.
//
// The deadlines it sets, one per wait, follow the timeout rule of every
// model (Clocks.Deadline):
//
//   - a read waits at most IdleTimeout; while part of a line is held, at
//     most until RequestTimeout after that line's first byte arrived, so
//     that a client sending a byte now and then cannot keep the connection
//     (and its thread) for ever;
//   - a write waits at most IdleTimeout from the moment the answer is
//     offered, for the whole answer: one answer, one deadline.
func Converse(c BlockingConn, cfg *Config, rec *ConnRecord, tr *Track) (Reason, error) {
	if cfg.Proto == Greeting {
		if !tr.Begin() {
			return ReasonShutdown, nil
		}
		time.Sleep(BeginWork(cfg, nil)) // returns at once when nothing is owed
		if timeout, err := write(c, cfg, rec, cfg.Greeting); err != nil {
			return closeReason(err, tr, timeout)
		}
		rec.Requests++
		return ReasonDone, nil
	}
	return echoLines(c, cfg, rec, tr)
}

// echoLines is Converse for the echo protocol: the request loop of Lines,
// where every wait blocks the thread.
//
// The answers waiting to be written are out, and out only ever holds the
// answers to one read: they are written, blocking, before the next read.
// A read fills at most the LineBuffer, which never exceeds MaxLine, so out
// holds at most MaxLine bytes of answers, or ErrLineReply alone (a line
// too long fills the buffer by itself); and out is also written whenever
// the next answer would take it past Config.OutputCap, so that bound holds
// whatever the buffer sizes. Beyond out, what waits is in the kernel: the
// socket's send buffer and the client's receive buffer. A client that
// never reads therefore costs this model those buffers and no more: the
// thread stops in write(2), stops reading, and the client's further
// requests stay in the server's receive buffer until the write deadline
// closes the connection as ReasonWriteTimeout. That is the backpressure
// an event loop has to build by hand, by no longer asking to read.
func echoLines(c BlockingConn, cfg *Config, rec *ConnRecord, tr *Track) (Reason, error) {
	in := NewLineBuffer(cfg.MaxLine)
	outCap := cfg.OutputCap()
	var out []byte // answers not yet written; flushed before blocking again
	lines := Lines{Cfg: cfg, Rec: rec, Out: &out}
	flush := func() (Reason, error) {
		timeout, err := write(c, cfg, rec, out)
		out = out[:0]
		return timeout, err
	}
	// lineStart is when the first byte of the incomplete line held in in
	// arrived (a clock); it matters only while in.Buffered() > 0.
	var lineStart int64
	for {
		// The read waits for the next request from now: idle, or the
		// rest of a line (Clocks.Deadline).
		clocks := Clocks{Active: clock(time.Now())}
		if in.Buffered() > 0 {
			clocks.Reading = lineStart
		}
		timeout, due := clocks.Deadline(cfg)
		if err := c.SetReadDeadline(clockTime(due)); err != nil {
			return closeReason(err, tr, timeout)
		}
		p := in.Space()
		n, err := c.Read(p)
		if err != nil {
			return closeReason(err, tr, timeout)
		}
		// A read that ends mid-line starts the request clock if the
		// unfinished line began in it: nothing was held before, or a
		// newline in it ended what was. The clock is read only then, so
		// whole lines, the usual case, cost nothing here.
		if n > 0 && p[n-1] != '\n' && (in.Buffered() == 0 || bytes.IndexByte(p[:n], '\n') >= 0) {
			lineStart = clock(time.Now())
		}
		in.Commit(n)
		rec.BytesIn += int64(n)
		// The drain is the Track's: a read that completes once the
		// shutdown has begun is not served, none of its lines, so Lines
		// never sees a drain here (draining false).
		if !tr.Begin() {
			return ReasonShutdown, nil
		}
		for {
			line, end, closing := lines.Next(in, false)
			if closing { // a line too long: out holds ErrLineReply alone
				_, _ = flush()
				return end, nil
			}
			if line == nil {
				break
			}
			// Answers already computed go out before this request's work
			// blocks, so that a client never waits on work that is not
			// its own; and before out would pass its cap.
			if cfg.Work.Kind != NoWork || len(out)+len(line) > outCap {
				if timeout, err := flush(); err != nil {
					return closeReason(err, tr, timeout)
				}
			}
			time.Sleep(lines.Begin(line)) // returns at once when nothing is owed
			lines.Answer(line)
		}
		if timeout, err := flush(); err != nil {
			return closeReason(err, tr, timeout)
		}
		if !tr.End() {
			return ReasonShutdown, nil
		}
	}
}

// write writes p, if any, and counts it. The whole of p has one write
// deadline, from now, as the answers are offered (Clocks.Deadline);
// write returns the reason it stands for with the error.
func write(c BlockingConn, cfg *Config, rec *ConnRecord, p []byte) (Reason, error) {
	if len(p) == 0 {
		return 0, nil
	}
	timeout, due := Clocks{Writing: clock(time.Now())}.Deadline(cfg)
	if err := c.SetWriteDeadline(clockTime(due)); err != nil {
		return timeout, err
	}
	n, err := c.Write(p)
	rec.BytesOut += int64(n)
	return timeout, err
}

// closeReason names why a read or write ended the conversation; timeout
// is the reason if the deadline in force passed.
func closeReason(err error, tr *Track, timeout Reason) (Reason, error) {
	if tr.Closing() {
		return ReasonShutdown, nil
	}
	return ReasonFor(err, timeout)
}

// ReasonFor names why a read or write that failed with err ended a
// connection, for every model: the client closed (io.EOF, or nil), the
// deadline in force passed (timeout, the reason that deadline stands
// for), the client reset or is gone, the server closed it; anything else
// is an error, which it returns for the log (nil otherwise).
func ReasonFor(err error, timeout Reason) (Reason, error) {
	switch {
	case err == nil || errors.Is(err, io.EOF):
		return ReasonEOF, nil
	case IsTimeout(err):
		return timeout, nil
	case IsReset(err):
		return ReasonReset, nil
	case errors.Is(err, net.ErrClosed):
		return ReasonShutdown, nil
	}
	return ReasonError, err
}

// IsTimeout reports whether err is a read or write whose deadline passed:
// os.ErrDeadlineExceeded, from a net.Conn or from sock.Conn, which turns
// the EAGAIN of an expired SO_RCVTIMEO or SO_SNDTIMEO into it.
func IsTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// IsReset reports whether err means the client reset the connection or is
// gone: ECONNRESET on read, EPIPE on write.
func IsReset(err error) bool {
	return errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.EPIPE)
}
