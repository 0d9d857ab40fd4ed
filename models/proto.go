package models

import (
	"bytes"
	"errors"
	"fmt"
	"math"
)

// Proto is a protocol every model speaks.
type Proto int

const (
	// Greeting is the tutorial's protocol: on accept, write the greeting,
	// then close.
	Greeting Proto = iota + 1
	// Echo answers each newline-terminated line with the same line, on a
	// connection that stays open.
	Echo
)

// DefaultGreeting is the tutorial's message, sent as UTF-8.
const DefaultGreeting = "Olá, cliente! Você está conectado ao servidor TCP."

// ErrLineReply is what a client receives, just before the close, when its
// line is longer than Config.MaxLine.
const ErrLineReply = "ERR line too long\n"

// ErrLineTooLong is returned by ScanLine and LineBuffer.Next for a line
// longer than the limit.
var ErrLineTooLong = errors.New("models: line too long")

// String returns the name users type after -proto.
func (p Proto) String() string {
	switch p {
	case Greeting:
		return "greeting"
	case Echo:
		return "echo"
	}
	return fmt.Sprintf("Proto(%d)", int(p))
}

// ParseProto parses a -proto value.
func ParseProto(s string) (Proto, error) {
	switch s {
	case "greeting":
		return Greeting, nil
	case "echo":
		return Echo, nil
	}
	return 0, fmt.Errorf("models: unknown protocol %q (want greeting or echo)", s)
}

// ScanLine finds the first complete line in buf. It returns the line's
// length counting its newline, 0 if buf holds no complete line yet, or
// ErrLineTooLong once buf holds maxLine bytes without a newline: such a line
// can no longer end within the limit, so there is no point waiting for it.
//
// Every model frames echo requests with it, through LineBuffer.Next.
func ScanLine(buf []byte, maxLine int) (int, error) {
	window := buf
	if len(window) > maxLine {
		window = window[:maxLine]
	}
	if i := bytes.IndexByte(window, '\n'); i >= 0 {
		return i + 1, nil
	}
	if len(buf) >= maxLine {
		return 0, ErrLineTooLong
	}
	return 0, nil
}

// LineBuffer accumulates what a connection has read and hands out complete
// lines. Models that read into their own memory use it; input already
// held in a buffer of its own (gnet's) is framed through LinesOf. A
// LineBuffer never holds more than one incomplete line, so its size is
// bounded by the line limit.
type LineBuffer struct {
	buf     []byte      // read into buf[w:]; unconsumed input is buf[r:w]
	pool    *BufferPool // where buf comes from and goes back to; nil: the heap
	r, w    int32       // read and write offsets into buf
	maxLine int32       // longest line accepted, newline included (int32: a loop holds thousands of these)
}

// lineBufferStart is the first size of a LineBuffer: big enough for a burst
// of small pipelined lines.
const lineBufferStart = 4 << 10

// NewLineBuffer returns an empty buffer for lines of at most maxLine bytes.
// It holds no memory until the first read (Space): a connection that never
// sends costs no input buffer.
func NewLineBuffer(maxLine int) *LineBuffer {
	return &LineBuffer{maxLine: int32(min(maxLine, math.MaxInt32))}
}

// NewPooledLineBuffer returns an empty buffer, as NewLineBuffer does,
// whose memory comes from pool when it reads and goes back to it when
// Release finds it drained. An event loop gives all its connections one
// pool: then only the connections with input in hand hold a buffer, and
// thousands of idle ones hold none.
func NewPooledLineBuffer(maxLine int, pool *BufferPool) *LineBuffer {
	return &LineBuffer{maxLine: int32(min(maxLine, math.MaxInt32)), pool: pool}
}

// LinesOf returns a LineBuffer that holds p, for the models whose input
// is already in a buffer of their own (gnet's, or what a takeover kept):
// Next frames it as it frames what a model reads. It reads nothing more:
// Space must not be called. Buffered says how much of p is left. p is
// shorter than 2 GiB, as any line buffer is.
func LinesOf(p []byte, maxLine int) LineBuffer {
	return LineBuffer{buf: p, w: int32(len(p)), maxLine: int32(min(maxLine, math.MaxInt32))}
}

// Space returns the free tail to read into. It first moves unconsumed
// input to the front, and grows the buffer (up to the line limit) only when
// one incomplete line fills it all; so it always returns at least one byte.
func (b *LineBuffer) Space() []byte {
	maxLine := int(b.maxLine)
	if b.buf == nil {
		if b.pool != nil && maxLine >= poolBufferSize {
			b.buf = b.pool.get()
		} else {
			b.buf = make([]byte, min(lineBufferStart, maxLine))
		}
	}
	if int(b.w) == len(b.buf) {
		if b.r > 0 {
			b.w = int32(copy(b.buf, b.buf[b.r:b.w]))
			b.r = 0
		} else {
			// One incomplete line fills the buffer; Next would have
			// reported it if it had reached the limit, so it is shorter.
			grown := make([]byte, min(2*len(b.buf), maxLine))
			b.w = int32(copy(grown, b.buf[b.r:b.w]))
			b.buf = grown
		}
	}
	return b.buf[b.w:]
}

// Commit records that n bytes were read into the slice Space returned.
func (b *LineBuffer) Commit(n int) { b.w += int32(n) }

// Next returns the next complete line, newline included, or nil if there is
// none yet. The line is valid until the next call to Space. A line longer
// than the limit gives ErrLineTooLong.
func (b *LineBuffer) Next() ([]byte, error) {
	n, err := ScanLine(b.buf[b.r:b.w], int(b.maxLine))
	if n == 0 {
		return nil, err
	}
	line := b.buf[b.r : int(b.r)+n]
	b.r += int32(n)
	if b.r == b.w {
		b.r, b.w = 0, 0
	}
	return line, nil
}

// Buffered reports how many bytes have been read but not consumed.
func (b *LineBuffer) Buffered() int { return int(b.w - b.r) }

// Release lets the buffer's memory go if it holds no input, as gnet and
// nbio do for an idle connection: the next Space allocates again. A line
// that Next returned must no longer be in use.
func (b *LineBuffer) Release() {
	if b.r == b.w && b.buf != nil {
		if b.pool != nil {
			b.pool.put(b.buf)
		}
		b.buf, b.r, b.w = nil, 0, 0
	}
}

// BufferPool keeps the input buffers that an event loop's connections
// have given back, for the next connection that reads: the memory a loop
// holds for input follows the connections that are mid-request, not all
// it has open (gnet and nbio work the same way). It belongs to one loop
// and is not safe for concurrent use.
type BufferPool struct {
	free [][]byte // buffers given back, poolBufferSize bytes each
}

// poolBufferSize is the size of a pooled buffer: a quarter of a blocking
// model's first buffer, since a loop may lend one to thousands of
// connections at once (clients that all send as they connect); a longer
// line, or a longer batch of pipelined ones, grows it as for any
// LineBuffer, and the grown buffer goes to the garbage collector.
const poolBufferSize = 1 << 10

// poolKeep bounds what a pool keeps: past it, buffers given back go to
// the garbage collector, so a burst of busy connections does not leave
// its peak of memory held for good.
const poolKeep = 256

func (p *BufferPool) get() []byte {
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return b
	}
	return make([]byte, poolBufferSize)
}

func (p *BufferPool) put(b []byte) {
	if len(b) == poolBufferSize && len(p.free) < poolKeep {
		p.free = append(p.free, b)
	}
}
