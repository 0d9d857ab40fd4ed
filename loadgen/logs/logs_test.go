package logs

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"iolab/models"
	_ "iolab/models/all" // every model, registered
	"iolab/models/golden"
	"iolab/models/servetest"
)

func analyze(t *testing.T, file string, opts Options) *Report {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a := New(opts)
	if err := a.Read(f); err != nil {
		t.Fatal(err)
	}
	return a.Report()
}

func TestFixture(t *testing.T) {
	rep := analyze(t, "runs.jsonl", Options{Interval: time.Second})
	// A non-JSON line, a broken one, one without an event, an unknown event.
	if rep.Skipped != 4 {
		t.Errorf("skipped %d lines, want 4", rep.Skipped)
	}
	if len(rep.Runs) != 3 {
		t.Fatalf("%d runs, want 3", len(rep.Runs))
	}
	e, th, pre := rep.Runs[0], rep.Runs[1], rep.Runs[2]
	if e.Model != "epoll" || e.Closed != 3 || e.Requests != 3 || e.AcceptErrs != 1 || !e.Stopped {
		t.Errorf("epoll run: %+v", e)
	}
	// Connections 1 and 2 overlap from 0.2 s to 1.5 s, and 3 joins them
	// at 1.3 s: three at once.
	if e.PeakOpen != 3 {
		t.Errorf("epoll peak %d, want 3", e.PeakOpen)
	}
	if len(e.Threads) != 1 || e.Threads[0].Conns != 3 {
		t.Errorf("epoll threads %+v, want one thread with 3 connections", e.Threads)
	}
	// Its connection events carry no pid, as in logs from before they
	// did: the server's own served them.
	if want := []Process{{4242, 3}}; !slices.Equal(e.Processes, want) {
		t.Errorf("epoll processes %+v, want %+v", e.Processes, want)
	}
	if th.Closed != 4 || len(th.Threads) != 4 || th.Reasons["done"] != 2 || th.Reasons["reset"] != 1 {
		t.Errorf("threads run: %+v", th)
	}
	// Connection 3 has no open event: its duration places its opening.
	if th.PeakOpen != 2 {
		t.Errorf("threads peak %d, want 2", th.PeakOpen)
	}
	if want := []Process{{4300, 4}}; !slices.Equal(th.Processes, want) {
		t.Errorf("threads processes %+v, want %+v", th.Processes, want)
	}
	// prefork: two children served, each numbering its connections from
	// 1; connection 1 of one child must not close connection 1 of the
	// other. Two were open at once, never three.
	if want := []Process{{4401, 2}, {4402, 1}}; pre.Workers != 2 || !slices.Equal(pre.Processes, want) {
		t.Errorf("prefork: %d workers, processes %+v; want 2 workers, processes %+v", pre.Workers, pre.Processes, want)
	}
	if pre.PeakOpen != 2 || len(pre.Threads) != 3 {
		t.Errorf("prefork: peak %d, %d threads; want 2 and 3", pre.PeakOpen, len(pre.Threads))
	}
}

func TestFixtureGolden(t *testing.T) {
	rep := analyze(t, "runs.jsonl", Options{Interval: 500 * time.Millisecond})
	var text, js bytes.Buffer
	if err := WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "runs.txt", text.Bytes())
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "runs.json", js.Bytes())
}

// TestManyThreads checks that a threads-model run, one thread per
// connection, is summarised rather than listed.
func TestManyThreads(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, `{"event":%q,"model":"threads","time":"2026-11-25T10:00:00Z"}`+"\n", models.EventStart)
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&b, `{"event":%q,"conn":%d,"tid":%d,"requests":1,"duration_us":100,"reason":"done","time":"2026-11-25T10:00:01Z"}`+"\n", models.EventConnClose, i, 1000+i)
	}
	a := New(Options{})
	if err := a.Read(strings.NewReader(b.String())); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_ = WriteText(&out, a.Report())
	if !strings.Contains(out.String(), "50 thread(s) served 50 connections") || !strings.Contains(out.String(), "40 more") {
		t.Errorf("threads summary:\n%s", out.String())
	}
}

// TestEndToEnd runs a model at debug level, drives it with a known load,
// and checks that the analysis counts what was sent.
func TestEndToEnd(t *testing.T) {
	for _, name := range []string{"epoll", "threads"} {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			var buf bytes.Buffer
			addr, stop := servetest.Start(t, name, func(cfg *models.Config) {
				cfg.Proto = models.Echo
				cfg.Log = zerolog.New(lockedWriter{&mu, &buf}).Level(zerolog.DebugLevel).With().Timestamp().Logger()
			})

			// 3 clients, 20 lines each, then close.
			const clients, lines = 3, 20
			var wg sync.WaitGroup
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := net.Dial("tcp", addr)
					if err != nil {
						t.Error(err)
						return
					}
					defer c.Close()
					_ = c.SetDeadline(time.Now().Add(10 * time.Second))
					reply := make([]byte, 6)
					for range lines {
						if _, err := c.Write([]byte("hello\n")); err != nil {
							t.Error(err)
							return
						}
						if _, err := io.ReadFull(c, reply); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			stop() // the stop event, with the server's totals

			a := New(Options{})
			mu.Lock()
			err := a.Read(bytes.NewReader(buf.Bytes()))
			mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			rep := a.Report()
			if len(rep.Runs) != 1 || rep.Skipped != 0 {
				t.Fatalf("%d runs, %d skipped", len(rep.Runs), rep.Skipped)
			}
			r := rep.Runs[0]
			if r.Model != name || r.Opened != clients || r.Closed != clients || r.Requests != clients*lines || !r.Stopped {
				t.Errorf("got model %s, %d opened, %d closed, %d requests; want %d connections and %d requests",
					r.Model, r.Opened, r.Closed, r.Requests, clients, clients*lines)
			}
			wantThreads := 1 // the epoll loop
			if name == "threads" {
				wantThreads = clients // one per connection
			}
			if len(r.Threads) != wantThreads {
				t.Errorf("%d OS threads served connections, want %d: %+v", len(r.Threads), wantThreads, r.Threads)
			}
			// One process, this one, which the start event names.
			if want := []Process{{os.Getpid(), clients}}; r.PID != os.Getpid() || !slices.Equal(r.Processes, want) {
				t.Errorf("pid %d, processes %+v; want pid %d, processes %+v", r.PID, r.Processes, os.Getpid(), want)
			}
		})
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// BenchmarkAnalyze measures the analysis on a million events.
func BenchmarkAnalyze(b *testing.B) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"level":"info","event":%q,"model":"epoll","addr":"127.0.0.1:8000","proto":"greeting","work":"none","pid":1,"time":"2026-11-25T10:00:00Z","message":"serving"}`+"\n", models.EventStart)
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for i := 1; i <= 500_000; i++ {
		at := base.Add(time.Duration(i) * 20 * time.Microsecond)
		fmt.Fprintf(&buf, `{"level":"debug","event":%q,"conn":%d,"remote":"127.0.0.1:%d","tid":%d,"time":"%s","message":"open"}`+"\n",
			models.EventConnOpen, i, 30000+i%30000, 100+i%2, at.Format(time.RFC3339Nano))
		fmt.Fprintf(&buf, `{"level":"debug","event":%q,"conn":%d,"remote":"127.0.0.1:%d","tid":%d,"bytes_in":0,"bytes_out":53,"requests":1,"duration_us":45,"reason":"done","time":"%s","message":"close"}`+"\n",
			models.EventConnClose, i, 30000+i%30000, 100+i%2, at.Add(45*time.Microsecond).Format(time.RFC3339Nano))
	}
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for b.Loop() {
		a := New(Options{})
		if err := a.Read(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
		if r := a.Report(); r.Events != 1_000_001 {
			b.Fatalf("%d events", r.Events)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/million-events")
}
