package models

import "time"

// Lines answers one connection's echo requests, in order: the request
// loop of the echo protocol, written once for every model. For each
// request it frames the line (Next, which also applies the line limit
// and the drain), begins its work (Begin) and, once the work is done,
// queues the answer and counts it (Answer).
//
// What it leaves to the model is waiting, which is where the models
// differ: for input, for a request's sleep (a blocking model sleeps on
// its thread, an event loop arms a timer, gnet a Go timer), and for the
// client to take its answers. Every model's loop has the same shape:
//
//	for {
//		line, end, closing := lines.Next(in, draining)
//		if line == nil {
//			break // closing: close with end once the answers are written
//		}
//		sleep := lines.Begin(line)
//		// wait out sleep, the model's own way
//		lines.Answer(line)
//	}
//
// A Lines is a few pointers, made where it is used; it allocates nothing.
type Lines struct {
	Cfg *Config     // the work each request costs
	Rec *ConnRecord // counts the requests answered
	Out *[]byte     // the answers not yet written, to which Answer appends
}

// Next frames the next request in in. It returns its line, newline
// included, which is the request and also its answer; the line stays
// valid until the next read into in. Without a complete line it returns
// nil, and says whether the connection is to close once its answers are
// written, and why:
//
//   - ReasonTooLong: a line passed Config.MaxLine, and can no longer end
//     within it; Next queues ErrLineReply as its answer;
//   - ReasonShutdown: the server is draining and no request is left, so
//     the connection has nothing in progress. A request that arrives
//     later is not served.
//
// Otherwise (closing false) the model waits for more input.
func (l Lines) Next(in *LineBuffer, draining bool) (line []byte, end Reason, closing bool) {
	line, err := in.Next()
	switch {
	case err != nil: // ErrLineTooLong
		*l.Out = append(*l.Out, ErrLineReply...)
		return nil, ReasonTooLong, true
	case line == nil && draining:
		return nil, ReasonShutdown, true
	}
	return line, 0, false
}

// Begin begins the work of the request Next returned (BeginWork: cpu
// work spins on the calling thread) and returns the sleep still owed
// before its answer may go out. The model waits that out its own way,
// then calls Answer.
func (l Lines) Begin(line []byte) (sleep time.Duration) { return BeginWork(l.Cfg, line) }

// Answer queues the answer to a request whose work is done, the request's
// own line, and counts the request.
func (l Lines) Answer(line []byte) {
	*l.Out = append(*l.Out, line...)
	l.Rec.Requests++
}
