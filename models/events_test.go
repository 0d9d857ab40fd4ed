package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestEventsRoundTrip writes every event as iolab serve does and reads it
// back as iolab logs and iolab bench do: a field the writer names
// differently from Event's tag is an unknown field, and a value that does
// not come back is a tag the readers would miss.
func TestEventsRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	log := zerolog.New(&buf).Level(zerolog.DebugLevel).With().Timestamp().Logger()
	cfg := DefaultConfig()
	cfg.Log, cfg.Proto, cfg.Backlog, cfg.Workers, cfg.Edge, cfg.Procs = log, Echo, 7, 4, true, true
	cfg.Work = Work{Kind: Sleep, D: 10 * time.Millisecond}

	s := NewStats(&cfg)
	s.Start("pool", &cfg, "127.0.0.1:8000") // a model with a pool: workers is kept
	c := s.Open(netip.MustParseAddrPort("127.0.0.1:5000"), 42)
	c.BytesIn, c.BytesOut, c.Requests = 3, 4, 5
	s.Close(&c, ReasonError, 43, errors.New("boom"))
	s.AcceptError(errors.New("accept4: too many open files"), 5*time.Millisecond)
	s.LimitReached(3, 3)
	s.LimitLeft(2, 3)
	s.LoopDone(1)
	s.Add(Event{Loops: []int64{0}}) // a child process's loop
	s.Stop("epoll")
	LogListenFallback(log, errors.New("sock: unsupported"), 3)
	LogChildExit(log, "prefork", 77, errors.New("exit status 1"))
	LogSpawnError(log, "fork", errors.New("fork/exec: too many open files"), 10*time.Millisecond)
	LogUnavailable(log, "uring", errors.New("models: unavailable: no io_uring"))
	LogUsage(log, Usage{Why: UsageAtExit, User: time.Second, System: 2 * time.Second,
		Voluntary: 6, Involuntary: 7, MaxRSS: 8, Procs: 14, Threads: 9, RSS: 10, FDs: 11,
		ChildUser: 3 * time.Second, ChildSystem: 4 * time.Second, ChildVoluntary: 12, ChildInvoluntary: 13})

	checks := []struct {
		name string
		ok   func(e *Event) bool
	}{
		{EventStart, func(e *Event) bool {
			return e.Model == "pool" && e.Addr == "127.0.0.1:8000" && e.Proto == "echo" && e.Work == "sleep:10ms" &&
				e.Backlog == 7 && e.MaxLine == DefaultMaxLine && e.IdleTimeoutMs == 60000 && e.PID > 0 && e.GOMAXPROCS > 0 &&
				e.RequestTimeoutMs == 10000 && e.MaxConns == cfg.Limit() && e.MaxOutput == 4*DefaultMaxLine && e.Workers == 4 && e.Edge && e.Procs
		}},
		{EventConnOpen, func(e *Event) bool {
			return e.Conn == 1 && e.Remote == "127.0.0.1:5000" && e.TID == 42 && e.PID > 0
		}},
		{EventConnClose, func(e *Event) bool {
			return e.Conn == 1 && e.Remote == "127.0.0.1:5000" && e.TID == 43 && e.PID > 0 && e.BytesIn == 3 && e.BytesOut == 4 &&
				e.Requests == 5 && e.DurationUs >= 0 && e.Reason == "error" && e.Error == "boom"
		}},
		{EventAcceptError, func(e *Event) bool {
			return e.Error == "accept4: too many open files" && e.PauseMs == 5
		}},
		{EventLimitReached, func(e *Event) bool { return e.Open == 3 && e.MaxConns == 3 && e.Level == "warn" }},
		{EventLimitLeft, func(e *Event) bool { return e.Open == 2 && e.MaxConns == 3 && e.Level == "info" }},
		{EventStop, func(e *Event) bool {
			return e.Model == "epoll" && e.Conns == 1 && e.Requests == 5 && e.BytesIn == 3 && e.BytesOut == 4 &&
				len(e.Reasons) == 1 && e.Reasons["error"] == 1 && e.UptimeMs >= 0 &&
				len(e.Loops) == 2 && e.Loops[0] == 1 && e.Loops[1] == 0
		}},
		{EventListenFallback, func(e *Event) bool {
			return e.Error == "sock: unsupported" && e.Backlog == 3 && e.BacklogSource == "system"
		}},
		{EventChildExit, func(e *Event) bool {
			return e.Model == "prefork" && e.PID == 77 && e.Error == "exit status 1" && e.Level == "warn"
		}},
		{EventSpawnError, func(e *Event) bool {
			return e.Model == "fork" && e.Error == "fork/exec: too many open files" && e.PauseMs == 10 && e.Level == "warn"
		}},
		{EventUnavailable, func(e *Event) bool {
			return e.Model == "uring" && e.Error == "models: unavailable: no io_uring" && e.Level == "error"
		}},
		{EventUsage, func(e *Event) bool {
			return e.Why == UsageAtExit && e.UserS == 1 && e.SysS == 2 && e.Nvcsw == 6 && e.Nivcsw == 7 &&
				e.MaxRSSBytes == 8 && e.Processes == 14 && e.Threads == 9 && e.RSSBytes == 10 && e.FDs == 11 &&
				e.ChildUserS == 3 && e.ChildSysS == 4 && e.ChildNvcsw == 12 && e.ChildNivcsw == 13
		}},
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != len(checks) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(checks), buf.String())
	}
	for i, want := range checks {
		var e Event
		dec := json.NewDecoder(bytes.NewReader(lines[i]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Errorf("%s: %v in %s", want.name, err, lines[i])
			continue
		}
		if e.Event != want.name || !IsEvent(e.Event) || e.Time.IsZero() || e.Level == "" || e.Message == "" {
			t.Errorf("line %d: got event %q at %v, want %q: %s", i, e.Event, e.Time, want.name, lines[i])
		}
		if !want.ok(&e) {
			t.Errorf("%s: fields did not come back: %+v from %s", want.name, e, lines[i])
		}
	}
}
