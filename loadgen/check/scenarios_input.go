package check

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"iolab/models"
	"iolab/models/reactor"
)

// maxLine is -max-line in the scenarios about lines: small, so that
// lines of exactly the limit are many and cheap.
const maxLine = 4096

// rstStorm connects many clients, eight at a time, each resetting its
// connection at once: some before sending anything, some after half a
// line, some after a whole line. Every connection the server accepted
// must be closed, as reset (or eof), and a bystander served throughout.
func (r *run) rstStorm() {
	by := r.bystander()
	n := r.f.storm
	var dials failures
	inTurns(n, 8, func(i int) {
		c, err := r.dial()
		if err != nil {
			dials.add("%v", err)
			return
		}
		switch i % 3 {
		case 1:
			_, _ = c.Write([]byte("half a li"))
		case 2:
			_, _ = c.Write([]byte("a whole line\n"))
		}
		resetConn(c)
	})
	extra := by.finish(r)
	dials.report(r, n, "connects failed")
	// One more client: the accept queue is first in, first out, so once
	// it is served every connection of the storm has been accepted (a
	// serial model has closed them too), or ended by its reset before
	// accept(2) got to it.
	afterHow := "; a client after the storm served"
	if err := r.roundTrip("after the storm"); err != nil {
		if !r.c.running() {
			r.fatalf("%s", r.c.died())
		}
		r.errorf("a client after the storm: %v", err)
		afterHow = ""
	}
	r.closedAll()
	if !r.logged() {
		r.figuref("%d connect+RST%s%s", n, afterHow, extra)
		return
	}
	count, list := reasons(r.events())
	for reason := range count {
		if reason != models.ReasonReset.String() && reason != models.ReasonEOF.String() {
			r.errorf("connections closed as %s (%s); a client's reset is %s", reason, firstError(r.events(), reason), models.ReasonReset)
		}
	}
	r.figuref("%d connect+RST: closed as %s%s", n, list, extra)
}

// firstError returns the error of the first close for reason in evs.
func firstError(evs []models.Event, reason string) string {
	for _, e := range evs {
		if e.Event == models.EventConnClose && e.Reason == reason {
			if e.Error == "" {
				return "no error logged"
			}
			return e.Error
		}
	}
	return ""
}

// oversized sends a line of exactly -max-line bytes with no newline, which
// can no longer fit, then a line that never ends. Each must be answered
// with ErrLineReply and closed as line_too_long, while others are served.
//
// Another server's limit may not be known (iolab check -max-line), and
// its error reply is its own: it must close the connection, whatever it
// answers first, rather than keep what never ends.
func (r *run) oversized() {
	maxLine := r.lineLimit()
	by := r.bystander()
	var conns []*net.TCPConn
	exactHow := "limit not known: not sent"
	if maxLine > 0 {
		exact, err := r.dial()
		if err != nil {
			r.fatalf("dial: %v", err)
		}
		defer exact.Close()
		conns = append(conns, exact)
		// Only MaxLine bytes: the server reads all of them, so its close
		// is a FIN, and the error reply cannot be lost to a reset.
		if _, err := exact.Write([]byte(strings.Repeat("x", maxLine))); err != nil {
			r.fatalf("write: %v", err)
		}
		got, err := readUntilClose(exact, patience)
		exactHow = fmt.Sprintf("%q, close", abbrev(got))
		switch {
		case r.tg.model() && (string(got) != models.ErrLineReply || err != nil):
			r.errorf("%d bytes and no newline: got %q, %v; want %q and a close", maxLine, abbrev(got), err, models.ErrLineReply)
		case err != nil && !closedByPeer(err):
			r.errorf("%d bytes and no newline, over the limit of %d: got %q, then %v; want a close", maxLine, maxLine, abbrev(got), err)
		}
	}

	endless, err := r.dial()
	if err != nil {
		r.fatalf("dial: %v", err)
	}
	defer endless.Close()
	conns = append(conns, endless)
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		_, _ = writeAll(endless, []byte(strings.Repeat("y", r.f.overLong)), 64<<10, patience)
	}()
	got, err := readUntilClose(endless, patience)
	endless.Close()
	<-wrote
	// The server closes with the rest of the line unread, so the close may
	// be a reset, which may overtake the error reply.
	endlessHow := fmt.Sprintf("%q", got)
	if err != nil {
		endlessHow += fmt.Sprintf(", %v", err)
	}
	switch {
	case err != nil && !closedByPeer(err):
		r.errorf("a line of %s without a newline: got %q, then %v; want a close", mib(int64(r.f.overLong)), abbrev(got), err)
	case r.tg.model() && !(string(got) == models.ErrLineReply || len(got) == 0):
		r.errorf("a line of %s without a newline: got %q; want %q and a close", mib(int64(r.f.overLong)), abbrev(got), models.ErrLineReply)
	}
	extra := by.finish(r)
	if !r.logged() {
		r.figuref("%d B, no newline: %s; %s, no newline: %s%s", maxLine, exactHow, mib(int64(r.f.overLong)), endlessHow, extra)
		return
	}
	closes := r.closesOf(addrsOf(conns), patience)
	for _, e := range closes {
		if e.Reason != models.ReasonTooLong.String() {
			r.errorf("closed as %s, want %s", e.Reason, models.ReasonTooLong)
		}
	}
	if len(closes) < 2 {
		r.errorf("%d of 2 connections never logged a close", 2-len(closes))
	}
	r.figuref("%d B, no newline: %q, close; %s, no newline: %s%s", maxLine, models.ErrLineReply, mib(int64(r.f.overLong)), endlessHow, extra)
}

// seed is the fuzzed input's seed: IOLAB_CHECK_SEED, or the
// time, once per run, so that every run tries new input and a failure can
// be replayed.
var seed = sync.OnceValue(func() uint64 {
	if s, err := strconv.ParseUint(os.Getenv(seedEnv), 10, 64); err == nil {
		return s
	}
	return uint64(time.Now().UnixNano())
})

// fuzzed sends random lines, pipelined in chunks of random size: random
// bytes, NULs, CRs, CRLF endings, invalid UTF-8, empty lines, and lines
// of exactly -max-line bytes. Every byte must come back, in order.
func (r *run) fuzzed() {
	seed := seed()
	maxLine := r.lineLimit()
	if maxLine == 0 {
		maxLine = defaultMaxLine
	}
	k := r.f.fuzzClients
	var wg sync.WaitGroup
	for i := range k {
		wg.Go(func() {
			stream := fuzzStream(rand.New(rand.NewPCG(seed, uint64(i))), maxLine, r.f.fuzzBytes)
			c, err := r.dial()
			if err != nil {
				r.errorf("dial: %v", err)
				return
			}
			defer c.Close()
			wrote := make(chan error, 1)
			go func() {
				chunks := rand.New(rand.NewPCG(seed, uint64(i)|1<<32))
				var err error
				for off := 0; off < len(stream) && err == nil; {
					var n int
					_ = c.SetWriteDeadline(time.Now().Add(patience))
					n, err = c.Write(stream[off:min(off+1+chunks.IntN(16<<10), len(stream))])
					off += n
				}
				wrote <- err
			}()
			got := make([]byte, 0, len(stream))
			buf := make([]byte, 64<<10)
			var rerr error
			for len(got) < len(stream) && rerr == nil {
				_ = c.SetReadDeadline(time.Now().Add(patience))
				var n int
				n, rerr = c.Read(buf)
				got = append(got, buf[:n]...)
			}
			werr := <-wrote
			if d := firstDiff(got, stream); d < 0 && (len(got) < len(stream) || werr != nil) && r.gnetInputFull() {
				r.documented(fmt.Sprintf("gnet cannot stop reading (gnet#712): a client sending faster than it reads was closed as write_timeout once its unanswered input passed the model's cap; %d of %d B back, byte-exact",
					len(got), len(stream)))
				return
			}
			if d := firstDiff(got, stream); d >= 0 {
				r.errorf("client %d (seed %d): the reply differs at byte %d: got %q, want %q", i, seed, d,
					abbrev(got[d:]), abbrev(stream[d:min(d+80, len(stream))]))
			} else if len(got) < len(stream) {
				r.errorf("client %d (seed %d): %d of %d bytes back, then %v", i, seed, len(got), len(stream), rerr)
			}
			if werr != nil {
				r.errorf("client %d: write: %v", i, werr)
			}
		})
	}
	wg.Wait()
	r.figuref("%d × %s of random lines (seed %d; NUL, CR, invalid UTF-8, lines of exactly %d B): byte-exact",
		k, mib(int64(r.f.fuzzBytes)), seed, maxLine)
}

// fuzzStream returns at least n bytes of random echo lines, none longer
// than maxLine with its newline.
func fuzzStream(rng *rand.Rand, maxLine, n int) []byte {
	odd := []byte{0x00, '\r', 0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0xf8, 0x7f}
	b := make([]byte, 0, n+maxLine)
	for len(b) < n {
		var size int
		switch rng.IntN(8) {
		case 0:
			size = maxLine // exactly the limit, newline included
		case 1:
			size = 1 // an empty line
		case 2:
			size = 2
		case 3:
			size = maxLine - 1
		default:
			size = 1 + rng.IntN(maxLine)
		}
		for range size - 1 {
			c := byte(rng.IntN(256))
			if rng.IntN(4) == 0 {
				c = odd[rng.IntN(len(odd))]
			}
			if c == '\n' {
				c = '\r'
			}
			b = append(b, c)
		}
		if size > 1 && rng.IntN(4) == 0 {
			b[len(b)-1] = '\r' // a CRLF ending
		}
		b = append(b, '\n')
	}
	return b
}

// rstMidReply sends a long run of lines, reads the start of the answers,
// and resets the connection while the server is still writing. Each must
// be closed as reset, and a bystander served throughout.
func (r *run) rstMidReply() {
	by := r.bystander()
	stream := lines(r.f.rstMidBytes, 64, "rst")
	head := 64 << 10
	var conns []*net.TCPConn
	for range r.f.rstMid {
		c, err := r.dial()
		if err != nil {
			r.fatalf("dial: %v", err)
		}
		conns = append(conns, c)
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			_, _ = writeAll(c, stream, 64<<10, patience)
		}()
		got := make([]byte, head)
		_ = c.SetReadDeadline(time.Now().Add(patience))
		if _, err := io.ReadFull(c, got); err != nil {
			r.errorf("the first %d KiB of the answers: %v", head>>10, err)
		} else if d := firstDiff(got, stream); d >= 0 {
			r.errorf("the answers differ at byte %d", d)
		}
		resetConn(c)
		<-wrote
	}
	extra := by.finish(r)
	if !r.logged() {
		r.figuref("%d resets after %d KiB of %s of answers%s", len(conns), head>>10, mib(int64(len(stream))), extra)
		return
	}
	closes := r.closesOf(addrsOf(conns), patience)
	if len(closes) < len(conns) {
		r.errorf("%d of %d connections never logged a close", len(conns)-len(closes), len(conns))
	}
	var evs []models.Event
	for _, e := range closes {
		evs = append(evs, e)
		if e.Reason != models.ReasonReset.String() {
			r.errorf("closed as %s (%s), want %s", e.Reason, e.Error, models.ReasonReset)
			break
		}
	}
	_, list := reasons(evs)
	r.figuref("%d resets after %d KiB of %s of answers: closed as %s%s", len(conns), head>>10, mib(int64(len(stream))), list, extra)
}

// halfClose sends megabytes of lines, then its FIN (shutdown(SHUT_WR)),
// and reads: every answer must come back before the server's close. It
// reads only once it has sent everything, or once the buffers are full
// and it must, so that as much as possible is in flight at the FIN.
func (r *run) halfClose() {
	var figures []string
	for range r.f.halfCloseReps {
		stream := lines(r.f.halfClose, 65, "half")
		c, err := r.dial()
		if err != nil {
			r.fatalf("dial: %v", err)
		}
		defer c.Close()
		// A small receive buffer, which the kernel then does not grow (up
		// to 32 MiB here): the answers back up in the server, not in the
		// client's kernel, and are in flight there at the FIN.
		if err := c.SetReadBuffer(64 << 10); err != nil {
			r.fatalf("SO_RCVBUF: %v", err)
		}
		readNow := make(chan struct{})
		var once sync.Once
		read := func() { once.Do(func() { close(readNow) }) }
		var received, inFlight atomic.Int64
		wrote := make(chan error, 1)
		go func() {
			defer read()
			sent, progress := 0, time.Now()
			for sent < len(stream) {
				_ = c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
				n, err := c.Write(stream[sent:min(sent+64<<10, len(stream))])
				sent += n
				if n > 0 {
					progress = time.Now()
				}
				switch {
				case isTimeout(err) && time.Since(progress) < patience:
					read() // the buffers are full: read, or both sides wait
				case err != nil:
					wrote <- err
					return
				}
			}
			err := c.CloseWrite()
			inFlight.Store(int64(sent) - received.Load())
			wrote <- err
		}()
		<-readNow
		got := make([]byte, 0, len(stream))
		buf := make([]byte, 64<<10)
		var rerr error
		for rerr == nil {
			_ = c.SetReadDeadline(time.Now().Add(patience))
			var n int
			n, rerr = c.Read(buf)
			got = append(got, buf[:n]...)
			received.Store(int64(len(got)))
		}
		if rerr == io.EOF {
			rerr = nil
		}
		werr := <-wrote
		if (werr != nil || len(got) < len(stream)) && r.gnetInputFull() {
			r.documented(fmt.Sprintf("gnet cannot stop reading (gnet#712): closed as write_timeout once %s of unanswered input was read; %d of %d B back",
				mib(int64(reactor.InputCap(&models.Config{MaxLine: r.c.start.MaxLine, MaxOutput: r.c.start.MaxOutput}))), len(got), len(stream)))
			return
		}
		if werr != nil {
			r.errorf("sending %s then the FIN: %v", mib(int64(len(stream))), werr)
		}
		switch d := firstDiff(got, stream); {
		case d >= 0:
			r.errorf("the answers differ at byte %d of %d", d, len(stream))
		case len(got) < len(stream) || rerr != nil:
			r.errorf("%d of %d bytes back, then %v (%s were in flight at the FIN)", len(got), len(stream), closeHow(rerr), mib(inFlight.Load()))
		}
		figures = append(figures, fmt.Sprintf("%d of %d B back (%s in flight at the FIN)", len(got), len(stream), mib(inFlight.Load())))
	}
	r.figuref("%s", strings.Join(figures, "; "))
}

// closeHow names how a read ended: EOF for nil.
func closeHow(err error) string {
	if err == nil {
		return "EOF"
	}
	return err.Error()
}

// dataAndFIN sends a line (or three) and the FIN in one segment, four
// connections at a time: the server reads the request and the end of the
// stream at once, and must still answer before it closes.
func (r *run) dataAndFIN() {
	n := r.f.finSegs
	var bad failures
	inTurns(n, 4, func(i int) {
		c, err := r.dial()
		if err != nil {
			bad.add("dial: %v", err)
			return
		}
		defer c.Close()
		data := fmt.Sprintf("fin %d\n", i)
		if i%3 == 2 {
			data = "fin a\nfin b\n" + data
		}
		if err := sendWithFIN(c, []byte(data)); err != nil {
			bad.add("send: %v", err)
			return
		}
		got, err := readUntilClose(c, patience)
		if string(got) != data || err != nil {
			bad.add("got %q, %v; want %q and EOF", got, err, data)
		}
	})
	bad.report(r, n, "clients sending their lines and FIN in one segment were not answered")
	if !r.logged() {
		r.figuref("%d connections, lines and FIN in one segment: answered, then closed", n)
		return
	}
	r.quiet(r.at.opens + n)
	_, list := reasons(r.events())
	r.figuref("%d connections, lines and FIN in one segment: answered, then closed as %s", n, list)
}

// inTurns runs client(i) for i from 0 to n-1, at most workers at a time,
// and returns once all have.
func inTurns(n, workers int, client func(i int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				client(i)
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}
