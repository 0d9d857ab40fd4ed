package models

import (
	"testing"
	"time"
)

// TestLines runs the request loop over input that holds two requests,
// part of a third, and then a line too long.
func TestLines(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxLine = 8
	var rec ConnRecord
	var out []byte
	lines := Lines{Cfg: &cfg, Rec: &rec, Out: &out}
	in := LinesOf([]byte("ab\ncd\nef"), cfg.MaxLine)
	for {
		line, _, closing := lines.Next(&in, false)
		if line == nil {
			if closing {
				t.Fatal("closing with part of a line held")
			}
			break
		}
		if sleep := lines.Begin(line); sleep != 0 {
			t.Fatalf("Begin with no work: sleep %v", sleep)
		}
		lines.Answer(line)
	}
	if string(out) != "ab\ncd\n" || rec.Requests != 2 || in.Buffered() != 2 {
		t.Errorf("got %q, %d requests, %d left; want %q, 2, 2", out, rec.Requests, in.Buffered(), "ab\ncd\n")
	}
	if _, end, closing := lines.Next(&in, true); !closing || end != ReasonShutdown {
		t.Errorf("draining with no line complete: got %v %v, want shutdown", end, closing)
	}

	out = out[:0]
	long := LinesOf([]byte("123456789\n"), cfg.MaxLine)
	if line, end, closing := lines.Next(&long, false); line != nil || !closing || end != ReasonTooLong {
		t.Errorf("line too long: got %q %v %v, want nil line_too_long true", line, end, closing)
	}
	if string(out) != ErrLineReply {
		t.Errorf("line too long: answer %q, want %q", out, ErrLineReply)
	}
}

// TestLinesDoesNotAllocate pins the request loop at no allocation per
// request, once the answers' buffer has grown.
func TestLinesDoesNotAllocate(t *testing.T) {
	cfg := DefaultConfig()
	in := NewLineBuffer(cfg.MaxLine)
	var rec ConnRecord
	out := make([]byte, 0, 64)
	lines := Lines{Cfg: &cfg, Rec: &rec, Out: &out}
	line := []byte("a line of a steady echo client\n")
	allocs := testing.AllocsPerRun(1000, func() {
		in.Commit(copy(in.Space(), line))
		got, _, _ := lines.Next(in, false)
		time.Sleep(lines.Begin(got))
		lines.Answer(got)
		out = out[:0]
	})
	if allocs != 0 {
		t.Errorf("Lines allocates %v times per request", allocs)
	}
}
