package models

import (
	"errors"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// BlockingConn is a connection whose Read and Write park the caller until
// they are done: the thread in the kernel (sequential, threads), or the
// goroutine in Go's netpoller (goroutine).
type BlockingConn interface {
	// Read reads at least one byte, or returns io.EOF when the client has
	// closed, or an error that IsTimeout recognises after the idle timeout.
	Read(p []byte) (int, error)
	// Write writes all of p or returns an error.
	Write(p []byte) (int, error)
}

// Converse holds the whole conversation on one connection for the models
// that block: it reads requests, does their work (BeginWork, then a
// time.Sleep that parks the thread or goroutine), and writes the answers.
// It returns why the conversation ended; err is set for ReasonError. The
// caller owns the connection and closes it afterwards.
//
// tr tells Converse when the server is shutting down: a request read after
// that is not served, and an answer in progress is finished first.
func Converse(c BlockingConn, cfg *Config, rec *ConnRecord, tr *Track) (Reason, error) {
	if cfg.Proto == Greeting {
		if !tr.Begin() {
			return ReasonShutdown, nil
		}
		time.Sleep(BeginWork(cfg)) // returns at once when nothing is owed
		if err := write(c, rec, cfg.Greeting); err != nil {
			return closeReason(err, tr, true)
		}
		rec.Requests++
		return ReasonDone, nil
	}

	in := NewLineBuffer(cfg.MaxLine)
	var out []byte // answers not yet written; flushed before blocking again
	for {
		n, err := c.Read(in.Space())
		if err != nil {
			return closeReason(err, tr, false)
		}
		in.Commit(n)
		rec.BytesIn += int64(n)
		if !tr.Begin() {
			return ReasonShutdown, nil
		}
		for {
			line, err := in.Next()
			if errors.Is(err, ErrLineTooLong) {
				_ = write(c, rec, append(out, ErrLineReply...))
				return ReasonTooLong, nil
			}
			if line == nil {
				break
			}
			if cfg.Work.Kind != NoWork {
				// Answers already computed go out before this request's
				// work blocks, so that a client never waits on work that
				// is not its own.
				if err := write(c, rec, out); err != nil {
					return closeReason(err, tr, true)
				}
				out = out[:0]
				time.Sleep(BeginWork(cfg))
			}
			out = append(out, line...)
			rec.Requests++
		}
		if err := write(c, rec, out); err != nil {
			return closeReason(err, tr, true)
		}
		out = out[:0]
		if !tr.End() {
			return ReasonShutdown, nil
		}
	}
}

// write writes p, if any, and counts it.
func write(c BlockingConn, rec *ConnRecord, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	n, err := c.Write(p)
	rec.BytesOut += int64(n)
	return err
}

// closeReason names why a read or write ended the conversation.
func closeReason(err error, tr *Track, writing bool) (Reason, error) {
	switch {
	case tr.Closing():
		return ReasonShutdown, nil
	case err == io.EOF:
		return ReasonEOF, nil
	case IsTimeout(err) && writing:
		return ReasonWriteTimeout, nil
	case IsTimeout(err):
		return ReasonIdle, nil
	case IsReset(err):
		return ReasonReset, nil
	case errors.Is(err, net.ErrClosed):
		return ReasonShutdown, nil
	}
	return ReasonError, err
}

// IsTimeout reports whether err is a read or write that timed out: a past
// deadline on a net.Conn, or EAGAIN from a blocking socket whose
// SO_RCVTIMEO or SO_SNDTIMEO expired.
func IsTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, unix.EAGAIN)
}

// IsReset reports whether err means the client reset the connection or is
// gone: ECONNRESET on read, EPIPE on write.
func IsReset(err error) bool {
	return errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.EPIPE)
}
