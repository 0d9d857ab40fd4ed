//go:build linux

package loadgen_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"iolab/loadgen"
	"iolab/models"
	_ "iolab/models/all" // every model, registered
	"iolab/models/servetest"
)

const patience = 10 * time.Second

func TestMain(m *testing.M) {
	// gnet's dependency ants keeps a worker pool from init.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"))
}

// serve starts a model in-process on 127.0.0.1 and returns its address.
func serve(t testing.TB, name string, tweak func(*models.Config)) string {
	t.Helper()
	addr, _ := servetest.Start(t, name, tweak)
	return addr
}

// quick is a short configuration for tests.
func quick(addr string, proto models.Proto, clients ...int) loadgen.Config {
	cfg := loadgen.DefaultConfig()
	cfg.Addr, cfg.Proto, cfg.Clients = addr, proto, clients
	cfg.Duration, cfg.Warmup, cfg.Timeout = 300*time.Millisecond, 100*time.Millisecond, 2*time.Second
	return cfg
}

func run(t *testing.T, cfg loadgen.Config) *loadgen.Result {
	t.Helper()
	res, err := loadgen.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(res.Levels) != len(cfg.Clients) {
		t.Fatalf("got %d levels, want %d", len(res.Levels), len(cfg.Clients))
	}
	return res
}

// TestWorkloads runs each workload against real models.
func TestWorkloads(t *testing.T) {
	for _, tc := range []struct {
		name  string
		model string
		proto models.Proto
		tweak func(*loadgen.Config)
	}{
		{"greeting closed loop", "epoll", models.Greeting, func(c *loadgen.Config) { c.Expect = []byte(models.DefaultGreeting) }},
		{"greeting open loop", "goroutine", models.Greeting, func(c *loadgen.Config) { c.Rate = 500 }},
		{"echo closed loop", "gnet", models.Echo, nil},
		{"echo pipelined", "epoll", models.Echo, func(c *loadgen.Config) { c.Pipeline, c.Size = 8, 300 }},
		{"echo open loop", "threads", models.Echo, func(c *loadgen.Config) { c.Rate = 1000 }},
		{"echo tiny lines", "epoll", models.Echo, func(c *loadgen.Config) { c.Size = 1 }},
		{"requests instead of duration", "epoll", models.Echo, func(c *loadgen.Config) { c.Requests = 500 }},
		{"echo, uring engine", "epoll", models.Echo, withUring},
		{"echo pipelined, uring engine", "gnet", models.Echo, func(c *loadgen.Config) { withUring(c); c.Pipeline, c.Size = 8, 300 }},
		{"echo open loop, uring engine", "goroutine", models.Echo, func(c *loadgen.Config) { withUring(c); c.Rate = 1000 }},
		// Lines far bigger than a receive buffer, and than a socket takes
		// at once: partial sends, and replies in many pieces.
		{"echo big lines, uring engine", "epoll", models.Echo, func(c *loadgen.Config) { withUring(c); bigLines(c) }},
		{"echo big lines pipelined", "epoll", models.Echo, bigLines},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, tc.model, func(c *models.Config) { c.Proto = tc.proto; c.MaxLine = 1 << 20 })
			cfg := quick(addr, tc.proto, 1, 3)
			if tc.tweak != nil {
				tc.tweak(&cfg)
			}
			skipWithoutUring(t, cfg)
			res := run(t, cfg)
			for _, l := range res.Levels {
				if l.Requests == 0 || l.Throughput <= 0 {
					t.Errorf("%d clients: %d requests, %.0f/s", l.Clients, l.Requests, l.Throughput)
				}
				if l.ErrorsTotal != 0 {
					t.Errorf("%d clients: errors %v", l.Clients, l.Errors)
				}
				if l.Latency.P50 <= 0 || l.Latency.P50 > l.Latency.P99 || l.Latency.P99 > l.Latency.Max {
					t.Errorf("%d clients: latency %+v", l.Clients, l.Latency)
				}
				if l.Warmup.Requests == 0 {
					t.Errorf("%d clients: no warm-up requests", l.Clients)
				}
				if len(l.Timeline) == 0 {
					t.Errorf("%d clients: empty timeline", l.Clients)
				}
				if cfg.Requests > 0 && l.Requests != cfg.Requests {
					t.Errorf("%d clients: %d requests, want exactly %d", l.Clients, l.Requests, cfg.Requests)
				}
				if (cfg.Rate > 0) != (l.Uncorrected != nil) {
					t.Errorf("%d clients: uncorrected latency %v with rate %v", l.Clients, l.Uncorrected, cfg.Rate)
				}
				if (cfg.Proto == models.Greeting) != (l.Connect != nil && l.Connect.Count > 0) {
					t.Errorf("%d clients: connect phase %v", l.Clients, l.Connect)
				}
				if _, err := loadgen.Decode(l.Histograms["latency"]); err != nil {
					t.Errorf("%d clients: encoded histogram: %v", l.Clients, err)
				}
				if echo := cfg.Proto == models.Echo; echo && (l.Held != l.Clients || l.Setup == nil) || !echo && (l.Held != 0 || l.Setup != nil) {
					t.Errorf("%d clients: held %d, setup %v", l.Clients, l.Held, l.Setup)
				}
			}
		})
	}
}

// bigLines sets lines of 100 kB, 4 in flight, which no socket takes in
// one write at first, and a warm-up long enough to see one answered
// however slow the machine (a -race build moves a few MB/s).
func bigLines(c *loadgen.Config) {
	c.Pipeline, c.Size, c.Warmup = 4, 100_000, time.Second
}

// withUring sets the uring engine.
func withUring(c *loadgen.Config) { c.Engine = loadgen.EngineUring }

// skipWithoutUring skips a test of the uring engine where io_uring is
// refused (a container's seccomp profile, a sysctl) or too old.
func skipWithoutUring(t *testing.T, cfg loadgen.Config) {
	t.Helper()
	if cfg.Engine != loadgen.EngineUring {
		return
	}
	if err := loadgen.UringUsable(); err != nil {
		t.Skip(err)
	}
}

// TestConnectRate starts clients in turn: none connects before its turn,
// so every client connected no sooner than the last one's turn, and none
// is lost to the ramp.
func TestConnectRate(t *testing.T) {
	addr := serve(t, "epoll", func(c *models.Config) { c.Proto = models.Echo })
	cfg := quick(addr, models.Echo, 20)
	cfg.ConnectRate, cfg.Duration = 400, time.Second
	l := run(t, cfg).Levels[0]
	last := 19 / cfg.ConnectRate // seconds: client 19's turn
	if l.ErrorsTotal != 0 || l.Requests == 0 {
		t.Errorf("%d requests, errors %v", l.Requests, l.Errors)
	}
	switch {
	case l.Setup == nil:
		t.Errorf("%d of 20 clients connected; want all", l.Held)
	case *l.Setup < last:
		t.Errorf("every client connected %.3f s in; want no sooner than %.3f s, the last one's turn", *l.Setup, last)
	}
}

// TestSequentialEcho shows the tutorial's lesson through the load
// generator: the sequential model serves one persistent client; the other
// waits, connected but unanswered, until it times out.
func TestSequentialEcho(t *testing.T) {
	addr := serve(t, "sequential", func(c *models.Config) { c.Proto = models.Echo })
	cfg := quick(addr, models.Echo, 2)
	cfg.Timeout = 200 * time.Millisecond
	l := run(t, cfg).Levels[0]
	if l.Requests == 0 {
		t.Error("the first client got no answers")
	}
	if l.Errors["read_timeout"] == 0 || l.Errors["read_timeout"] != l.ErrorsTotal {
		t.Errorf("errors %v; want read timeouts from the waiting client", l.Errors)
	}
}

func TestNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = loadgen.Run(context.Background(), quick(addr, models.Greeting, 1))
	if !errors.Is(err, loadgen.ErrNoServer) || !strings.Contains(err.Error(), "connection refused at "+addr) {
		t.Errorf("Run against nothing: %v; want connection refused at %s", err, addr)
	}
}

// misbehave starts a TCP server whose every connection is handled by fn.
func misbehave(t *testing.T, fn func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				fn(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// answerLines starts an echo server of its own: each line it reads, it
// answers with what answer returns.
func answerLines(t *testing.T, answer func(line []byte) []byte) string {
	t.Helper()
	return misbehave(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return
			}
			if _, err := c.Write(answer(line)); err != nil {
				return
			}
		}
	})
}

// neverAccepts listens with the smallest backlog and never accepts: the
// kernel queues one handshake, then drops SYNs.
func neverAccepts(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
}

// TestConnectBackoff: a client whose connects keep timing out waits
// longer after each one (10 ms, 20 ms, 40 ms... each drawn between half
// and all of it), so that it does not hammer a swamped server. With 50 ms
// timeouts, in one second it can fail at most 8 times however fast the
// machine (50 ms + 5 ms, 50 + 10, 50 + 20...: the eighth would end past
// 1 s), where a client that came straight back would fail some 18 times.
// A slow machine only makes fewer attempts.
func TestConnectBackoff(t *testing.T) {
	cfg := quick(neverAccepts(t), models.Greeting, 1)
	cfg.Timeout, cfg.Warmup, cfg.Duration = 50*time.Millisecond, 0, time.Second
	l := run(t, cfg).Levels[0]
	connects := l.Errors[loadgen.ErrConnectTimeout.String()]
	if connects < 1 {
		t.Fatalf("no connect timed out: %v", l.Errors)
	}
	// One read timeout (the first connection waits in the accept queue),
	// then connect timeouts, and one more may end while the level stops.
	if connects > 9 {
		t.Errorf("%d connect timeouts in 1 s: the client did not back off (%v)", connects, l.Errors)
	}
}

// TestErrorKinds drives misbehaving servers and checks how each failure
// is counted. No failure may count as a request.
func TestErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		addr  func(t *testing.T) string
		proto models.Proto
		tweak func(*loadgen.Config)
		want  []loadgen.ErrKind // the only kinds allowed, at least one seen
	}{
		{"never accepts", neverAccepts, models.Greeting, nil,
			[]loadgen.ErrKind{loadgen.ErrConnectTimeout, loadgen.ErrReadTimeout}},
		{"accepts and never writes", func(t *testing.T) string {
			return misbehave(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		}, models.Greeting, nil, []loadgen.ErrKind{loadgen.ErrReadTimeout}},
		{"resets", func(t *testing.T) string {
			return misbehave(t, func(c net.Conn) {
				_ = c.(*net.TCPConn).SetLinger(0)
				c.Close()
			})
		}, models.Greeting, nil, []loadgen.ErrKind{loadgen.ErrReset}},
		{"greets wrongly", func(t *testing.T) string {
			return misbehave(t, func(c net.Conn) {
				_, _ = c.Write([]byte("hello"))
				c.Close()
			})
		}, models.Greeting, func(c *loadgen.Config) { c.Expect = []byte(models.DefaultGreeting) },
			[]loadgen.ErrKind{loadgen.ErrWrongReply}},
		{"greets with nothing", func(t *testing.T) string {
			return misbehave(t, func(c net.Conn) { c.Close() })
		}, models.Greeting, nil, []loadgen.ErrKind{loadgen.ErrWrongReply}},
		{"echoes wrongly", func(t *testing.T) string {
			return answerLines(t, func(line []byte) []byte {
				line[0] ^= 1
				return line
			})
		}, models.Echo, nil, []loadgen.ErrKind{loadgen.ErrWrongReply}},
		{"echo cut short", func(t *testing.T) string {
			return misbehave(t, func(c net.Conn) {
				r := bufio.NewReader(c)
				line, _ := r.ReadBytes('\n')
				_, _ = c.Write(line[:len(line)/2])
				c.Close()
			})
		}, models.Echo, nil, []loadgen.ErrKind{loadgen.ErrWrongReply, loadgen.ErrReset}},
		{"echoes wrongly, uring engine", func(t *testing.T) string {
			return answerLines(t, func(line []byte) []byte {
				line[0] ^= 1
				return line
			})
		}, models.Echo, withUring, []loadgen.ErrKind{loadgen.ErrWrongReply}},
		{"echo cut short, uring engine", func(t *testing.T) string {
			return misbehave(t, func(c net.Conn) {
				r := bufio.NewReader(c)
				line, _ := r.ReadBytes('\n')
				_, _ = c.Write(line[:len(line)/2])
				c.Close()
			})
		}, models.Echo, withUring, []loadgen.ErrKind{loadgen.ErrWrongReply, loadgen.ErrReset}},
		{"echo never answered, uring engine", func(t *testing.T) string {
			return misbehave(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		}, models.Echo, withUring, []loadgen.ErrKind{loadgen.ErrReadTimeout}},
		{"echo reset, uring engine", func(t *testing.T) string {
			return misbehave(t, func(c net.Conn) {
				r := bufio.NewReader(c)
				_, _ = r.ReadBytes('\n')
				_ = c.(*net.TCPConn).SetLinger(0)
				c.Close()
			})
		}, models.Echo, withUring, []loadgen.ErrKind{loadgen.ErrReset, loadgen.ErrWrongReply}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := quick(tc.addr(t), tc.proto, 3)
			cfg.Timeout, cfg.Warmup, cfg.Duration = 150*time.Millisecond, 0, 600*time.Millisecond
			// A failure that is not a timeout gets a timeout it never
			// needs, so that a busy machine's slow answer is not taken for
			// one; should one come anyway, it is allowed beside the kinds
			// wanted, and at least one of those must still be seen.
			timeouts := []loadgen.ErrKind{loadgen.ErrConnectTimeout, loadgen.ErrReadTimeout}
			allowed := tc.want
			if !slices.Contains(tc.want, loadgen.ErrReadTimeout) {
				cfg.Timeout = 5 * time.Second
				allowed = append(slices.Clone(tc.want), timeouts...)
			}
			if tc.tweak != nil {
				tc.tweak(&cfg)
			}
			skipWithoutUring(t, cfg)
			l := run(t, cfg).Levels[0]
			if l.Requests != 0 {
				t.Errorf("%d requests counted as answered", l.Requests)
			}
			var seen, all int64
			for _, k := range tc.want {
				seen += l.Errors[k.String()]
			}
			for _, k := range allowed {
				all += l.Errors[k.String()]
			}
			if seen == 0 || all != l.ErrorsTotal {
				t.Errorf("errors %v; want at least one of %v, and no kind but %v", l.Errors, tc.want, allowed)
			}
		})
	}
}

// TestOpenLoopCorrection stalls a server once, for a known time, during an
// open-loop run: the latency from each request's due time must show the
// stall, the latency from the actual send must not.
func TestOpenLoopCorrection(t *testing.T) {
	const stall = 500 * time.Millisecond
	var lines atomic.Int64
	addr := answerLines(t, func(line []byte) []byte {
		if lines.Add(1) == 300 {
			time.Sleep(stall) // the stall under test, not synchronisation
		}
		return line
	})
	cfg := quick(addr, models.Echo, 1)
	cfg.Rate, cfg.Warmup, cfg.Duration = 1000, 0, 1500*time.Millisecond
	l := run(t, cfg).Levels[0]
	t.Logf("corrected p99 %s, uncorrected p99 %s, late %d, unsent %d", loadgen.Dur(l.Latency.P99),
		loadgen.Dur(l.Uncorrected.P99), l.Late, l.Unsent)
	if l.Latency.P99 < int64(stall)*6/10 {
		t.Errorf("corrected p99 %s does not show a %v stall", loadgen.Dur(l.Latency.P99), stall)
	}
	if l.Uncorrected.P99 > int64(stall)/5 {
		t.Errorf("uncorrected p99 %s shows the stall; it should hide it", loadgen.Dur(l.Uncorrected.P99))
	}
	if l.Late == 0 {
		t.Error("no request counted late across a stall")
	}
	if l.Uncorrected.Max < int64(stall)*9/10 {
		t.Errorf("uncorrected max %s: the request in flight during the stall is missing", loadgen.Dur(l.Uncorrected.Max))
	}
}

// TestClientCPU checks the self-measurement is filled in and sane.
func TestClientCPU(t *testing.T) {
	addr := serve(t, "epoll", func(c *models.Config) { c.Proto = models.Echo })
	l := run(t, quick(addr, models.Echo, 2)).Levels[0]
	if l.ClientCPU.Allowed < 1 || l.ClientCPU.Allowed > runtime.NumCPU() {
		t.Errorf("allowed CPUs %d", l.ClientCPU.Allowed)
	}
	if l.ClientCPU.User+l.ClientCPU.System <= 0 || l.ClientCPU.Percent <= 0 || l.ClientCPU.Percent > 100*float64(runtime.NumCPU()) {
		t.Errorf("client CPU %+v", l.ClientCPU)
	}
	if l.ClientBound != (l.ClientCPU.Percent >= 90) {
		t.Errorf("client-bound %v at %.0f%%", l.ClientBound, l.ClientCPU.Percent)
	}
}

// TestEchoSteadyStateDoesNotAllocate reads the process's allocation count
// at two moments of a long-lived echo run, from the progress callback, and
// divides by the requests answered in between. The in-process epoll server
// counts too: neither may allocate per request, with heavy lines marked
// (a mixed load) or without. (Building the results, which encodes
// histograms, allocates; that happens after the run.)
func TestEchoSteadyStateDoesNotAllocate(t *testing.T) {
	for _, tc := range []struct {
		heavy  float64
		engine string
	}{{0, loadgen.EngineEpoll}, {0.2, loadgen.EngineEpoll}, {0, loadgen.EngineUring}} {
		t.Run(tc.engine+"/heavy="+strconv.FormatFloat(tc.heavy, 'g', -1, 64), func(t *testing.T) {
			addr := serve(t, "epoll", func(c *models.Config) { c.Proto, c.WorkMark = models.Echo, "!" })
			cfg := quick(addr, models.Echo, 2)
			cfg.Warmup, cfg.Duration, cfg.Heavy, cfg.Engine = 200*time.Millisecond, time.Second, tc.heavy, tc.engine
			skipWithoutUring(t, cfg)
			type mark struct {
				mallocs  uint64
				requests int64
			}
			var marks []mark
			cfg.Progress = func(p loadgen.Progress) {
				if p.Warmup || len(marks) == 2 || p.Elapsed > 1100*time.Millisecond {
					return
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				marks = append(marks, mark{ms.Mallocs, p.Requests})
			}
			run(t, cfg)
			if len(marks) < 2 {
				t.Fatalf("only %d progress reports in the measured interval", len(marks))
			}
			allocs, reqs := marks[1].mallocs-marks[0].mallocs, marks[1].requests-marks[0].requests
			t.Logf("%d allocations over %d requests", allocs, reqs)
			// An allocation per request would count at least reqs; a few
			// come from elsewhere (the runtime's timers, the progress
			// report). The bound tells those apart however many requests
			// a busy machine managed in the interval.
			if reqs < 20 {
				t.Fatalf("only %d requests between the progress reports: too few to tell", reqs)
			}
			if allocs > 3+uint64(reqs)/10 {
				t.Errorf("%d allocations over %d echo requests in steady state; want none per request", allocs, reqs)
			}
		})
	}
}

// BenchmarkEcho measures a closed-loop echo client against the in-process
// epoll model: b.N requests in one level, with their allocations.
func BenchmarkEcho(b *testing.B) {
	for _, clients := range []int{1, 10} {
		b.Run(strconv.Itoa(clients)+"clients", func(b *testing.B) {
			addr := serve(b, "epoll", func(c *models.Config) { c.Proto = models.Echo })
			cfg := quick(addr, models.Echo, clients)
			cfg.Warmup, cfg.Requests = 0, int64(b.N)
			b.ReportAllocs()
			b.ResetTimer()
			if _, err := loadgen.Run(context.Background(), cfg); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// TestInterruptedLevelIsPartial cancels a run in the middle of its
// measured interval, as Ctrl-C does: the level it cut short is kept,
// marked partial, and its rate is over the time it did measure.
func TestInterruptedLevelIsPartial(t *testing.T) {
	addr := serve(t, "epoll", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := quick(addr, models.Greeting, 1, 2)
	cfg.Duration = time.Minute // the cancel ends it, long before
	var progress []loadgen.Progress
	cfg.Progress = func(p loadgen.Progress) {
		progress = append(progress, p)
		if !p.Warmup && p.Requests > 0 {
			cancel()
		}
	}
	res, err := loadgen.Run(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	if len(res.Levels) != 1 || !res.Levels[0].Partial {
		t.Fatalf("%d levels, first partial: %v; want one, partial", len(res.Levels), len(res.Levels) > 0 && res.Levels[0].Partial)
	}
	if l := res.Levels[0]; l.Seconds >= 30 || l.Requests == 0 {
		t.Errorf("partial level: %v s, %d requests; want the time it measured, and its requests", l.Seconds, l.Requests)
	}
	for _, p := range progress {
		if p.WarmupTotal != cfg.Warmup {
			t.Fatalf("progress: WarmupTotal %v, want %v", p.WarmupTotal, cfg.Warmup)
		}
	}
	if res.RunID == "" || res.Version == "" || res.Started.IsZero() || res.Started.Location() != time.UTC {
		t.Errorf("result not named: run_id %q, version %q, started %v", res.RunID, res.Version, res.Started)
	}
}

// TestHeavyRepliesChecked runs a mixed load against a server that echoes
// plain lines and answers a marked one with its mark changed: the reply
// check recomputes which lines are heavy, so it fails every heavy answer
// and none of the cheap ones.
func TestHeavyRepliesChecked(t *testing.T) {
	addr := answerLines(t, func(line []byte) []byte {
		if line[0] == '!' {
			line[0] = '?'
		}
		return line
	})
	cfg := quick(addr, models.Echo, 2)
	cfg.Heavy = 0.3
	l := run(t, cfg).Levels[0]
	if l.Errors["wrong_reply"] == 0 || l.Errors["wrong_reply"] != l.ErrorsTotal {
		t.Errorf("errors %v; want wrong replies, and only those", l.Errors)
	}
	if l.Heavy == nil || l.Heavy.Count != 0 || l.Cheap == nil || l.Cheap.Count == 0 || l.Cheap.Count != l.Requests {
		t.Errorf("cheap %+v, heavy %+v, %d requests: want every answer a cheap one", l.Cheap, l.Heavy, l.Requests)
	}
}
