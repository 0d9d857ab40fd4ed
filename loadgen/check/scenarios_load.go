package check

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"iolab/loadgen"
	"iolab/models"
	"iolab/models/reactor"
)

// lostHandshakes: a greeting server may lose one request in this many
// to the kernel, in the 10,000 clients' check (manyClients).
const lostHandshakes = 1000

// loadTimeout is the load generator's timeout in the load scenarios:
// a request not answered within it counts as an error. iolab load's
// default is 2 s; 10,000 clients connecting at once to an accept queue of
// 4096 see SYNs dropped and resent after one second, then three, and on a
// busy 2-core machine (other tests, a signal storm) a process can stall
// for a second or two without losing anything.
const loadTimeout = 5 * time.Second

// miceP99 bounds the small clients' p99 beside the elephant: far above
// what a fair server gives them on a busy 2-core machine, far below what
// one that serves the elephant first does.
const miceP99 = time.Second

// elephant runs one client that pipelines lines as fast as it can beside
// 100 small clients of the load generator. The small clients must all be
// answered, with a p99 under miceP99, and the elephant must get every
// byte back.
func (r *run) elephant() {
	pattern := lines(64<<10, 64, "elephant") // sent over and over
	c, err := r.dial()
	if err != nil {
		r.fatalf("dial: %v", err)
	}
	defer c.Close()
	stop := make(chan struct{})
	var sent atomic.Int64
	want := atomic.Int64{}
	want.Store(-1) // set to the total sent once the elephant stops
	wrote := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				wrote <- nil
				return
			default:
			}
			_ = c.SetWriteDeadline(time.Now().Add(patience))
			n, err := c.Write(pattern)
			sent.Add(int64(n))
			if err != nil {
				wrote <- err
				return
			}
		}
	}()
	read := make(chan error, 1)
	var received int64
	go func() {
		buf := make([]byte, 64<<10)
		progress := time.Now()
		for {
			if w := want.Load(); w >= 0 && received >= w {
				read <- nil
				return
			}
			_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond)) // to look at want again
			n, err := c.Read(buf)
			for j := range n {
				if buf[j] != pattern[(received+int64(j))%int64(len(pattern))] {
					read <- fmt.Errorf("the elephant's answers differ at byte %d", received+int64(j))
					return
				}
			}
			received += int64(n)
			if n > 0 {
				progress = time.Now()
			}
			switch {
			case isTimeout(err) && time.Since(progress) < patience:
			case err != nil:
				read <- fmt.Errorf("the elephant got %d bytes back, then %v", received, err)
				return
			}
		}
	}()

	began := time.Now()
	cfg := r.loadConfig(100)
	cfg.Duration, cfg.Warmup, cfg.Timeout = r.f.mice, 500*time.Millisecond+r.starts(100), loadTimeout+r.starts(100)
	res, err := loadgen.Run(context.Background(), cfg)
	close(stop)
	if err := <-wrote; err != nil {
		if r.gnetInputFull() {
			r.documented(fmt.Sprintf("gnet cannot stop reading (gnet#712): the elephant was closed as write_timeout once %s of its input was unanswered (%v)",
				mib(int64(reactor.InputCap(&models.Config{MaxLine: r.c.start.MaxLine, MaxOutput: r.c.start.MaxOutput}))), err))
			return
		}
		r.errorf("the elephant's writes: %v", err)
	}
	want.Store(sent.Load())
	if err := <-read; err != nil {
		r.errorf("%v", err)
	}
	rate := float64(received) / time.Since(began).Seconds()
	if err != nil {
		r.fatalf("load: %v", err)
	}
	lvl := res.Levels[0]
	r.figuref("100 small clients: p99 %s (p50 %s), %s req/s, %d errors; elephant: %s back at %s/s",
		loadgen.Dur(lvl.Latency.P99), loadgen.Dur(lvl.Latency.P50), loadgen.Rate(lvl.Throughput), lvl.ErrorsTotal+lvl.Warmup.Errors,
		mib(received), mib(int64(rate)))
	if n := lvl.ErrorsTotal + lvl.Warmup.Errors; n > 0 {
		r.errorf("%d small clients' requests failed beside the elephant (%s); %s", n, errorKinds(lvl.Errors), timeline(lvl))
	}
	if p99 := time.Duration(lvl.Latency.P99); p99 > miceP99 {
		r.errorf("small clients' p99 %v beside the elephant, over %v", p99, miceP99)
	}
}

// timeline formats a level's answers and errors second by second, which
// tells a server that stalled from one that dropped requests.
func timeline(lvl loadgen.Level) string {
	var parts []string
	for _, s := range lvl.Timeline {
		parts = append(parts, fmt.Sprintf("%d/%d", s.Requests, s.Errors))
	}
	return "answers/errors by second: " + strings.Join(parts, " ")
}

// errorKinds formats the load generator's errors by kind.
func errorKinds(errs map[string]int64) string {
	var parts []string
	for k, n := range errs {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "none in the measured interval"
	}
	return strings.Join(parts, ", ")
}

// shutdownUnderLoad sends SIGTERM while clients keep requests in flight
// (to one of iolab's models, each with 20 ms of sleep work). The server
// must exit 0 within its shutdown timeout, after answering every request
// it took: for iolab's models, the answers it counts in its stop event
// are the answers the clients received. A client cannot tell an answer
// lost from a request the server never took (closed before it read it,
// reset in the accept queue, refused after the listener closed): for
// another server its errors are shown, and the exit judged.
func (r *run) shutdownUnderLoad() {
	clients := r.count(r.f.loadClients, 1)
	established := make(chan struct{})
	var once sync.Once
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		res *loadgen.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		cfg := r.loadConfig(clients)
		cfg.Duration, cfg.Timeout = time.Hour, patience
		cfg.Progress = func(p loadgen.Progress) {
			if p.Requests >= int64(5*clients) {
				once.Do(func() { close(established) })
			}
		}
		res, err := loadgen.Run(ctx, cfg)
		done <- result{res, err}
	}()
	select {
	case <-established:
	case <-time.After(patience):
		cancel()
		<-done
		r.fatalf("the load did not get going within %v", patience)
	}
	took, err := r.c.stop(r.grace())
	cancel()
	res := <-done
	if err != nil {
		r.errorf("%v", err)
	}
	if res.err != nil && !errors.Is(res.err, context.Canceled) {
		r.fatalf("load: %v", res.err)
	}
	if took > r.grace()+slack {
		r.errorf("exited %v after SIGTERM, more than the shutdown timeout %v and %v", took, r.grace(), slack)
	}
	if len(res.res.Levels) == 0 {
		r.fatalf("no load measured")
	}
	lvl := res.res.Levels[0]
	received := lvl.Requests + lvl.Warmup.Requests
	if !r.logged() {
		r.figuref("SIGTERM under %d clients: exited in %s; %d answers received, errors: %s", clients, seconds(took), received, errorKinds(lvl.Errors))
		return
	}
	stop := r.c.log.tally().stop
	if stop == nil {
		r.fatalf("no stop event")
	}
	sent := stop.Requests - r.answeredBefore() // the stop event counts the warm-up's too
	_, list := reasons(r.events())
	r.figuref("SIGTERM under %d clients: exited in %s; %d answers sent, %d received; closed as %s", clients, seconds(took), sent, received, list)
	if received != sent {
		r.errorf("the server counted %d answers and the clients received %d: answers lost at shutdown", sent, received)
	}
	if count, _ := reasons(r.events()); count[models.ReasonError.String()] > 0 {
		r.errorf("connections closed as error at shutdown: %s", firstError(r.events(), models.ReasonError.String()))
	}
}

// manyClients runs the load generator's echo clients, all at once: every
// request must be answered, with no error, and the server must live.
func (r *run) manyClients() {
	n := r.f.clients
	if raceDetector && n > 8000 {
		r.skip("the race detector allows 8128 goroutines a process; make reliability runs without it")
	}
	s := r.sample(100 * time.Millisecond)
	cfg := r.loadConfig(n)
	cfg.Duration, cfg.Warmup, cfg.Timeout = r.f.clientsFor, r.f.clientsWarm, loadTimeout
	res, err := loadgen.Run(context.Background(), cfg)
	peak := s.end()
	if err != nil {
		r.fatalf("load: %v (%s)", err, r.c.died())
	}
	lvl := res.Levels[0]
	r.figuref("%d clients: %s req/s, %d errors (+%d in warm-up), p99 %s; peak %d threads, %s RSS",
		n, loadgen.Rate(lvl.Throughput), lvl.ErrorsTotal, lvl.Warmup.Errors, loadgen.Dur(lvl.Latency.P99), peak.Threads, mib(peak.RSS))
	if !r.c.running() {
		r.fatalf("%s", r.c.died())
	}
	failed := lvl.ErrorsTotal + lvl.Warmup.Errors
	timeouts := lvl.Errors["connect_timeout"] + lvl.Errors["read_timeout"]
	if r.tg.proto() == models.Greeting && failed > 0 && timeouts == lvl.ErrorsTotal && // (the warm-up counts no kinds)
		failed*lostHandshakes <= lvl.Requests+lvl.Warmup.Requests {
		// A server that speaks first can lose a client it never saw:
		// 10,000 clients connecting over and over keep its accept queue
		// (at most net.core.somaxconn, 4096 here) full, the kernel answers
		// SYNs with cookies, and a client's final ACK that finds the queue
		// full is dropped. The client believes it is connected, sends
		// nothing, and waits for a greeting no one will send. A server
		// that empties its queue fast loses a few in 100,000; one that
		// does not (listen(5), or too slow) loses thousands.
		r.figuref("%d clients: %s req/s, p99 %s; %d of %d requests timed out (%s, warm-up included), within the 1 in %d handshakes the kernel may lose to a full accept queue; peak %d threads, %s RSS",
			n, loadgen.Rate(lvl.Throughput), loadgen.Dur(lvl.Latency.P99), failed, lvl.Requests+lvl.Warmup.Requests+failed, errorKinds(lvl.Errors), lostHandshakes, peak.Threads, mib(peak.RSS))
		return
	}
	if r.m.Bounded && failed > 0 {
		// A bounded model (a pool, or fork's cap on children) serves so
		// many clients, and the others wait in the accept queue, where the
		// client's timeout ends them: failures by design, and only those.
		// A wrong answer, a reset or a crash would still be a failure.
		// (The warm-up counts its errors without their kinds.)
		if lvl.Errors["connect_timeout"]+lvl.Errors["read_timeout"] == lvl.ErrorsTotal {
			r.figuref("%d clients, %d served at once: %s req/s, p99 %s; %d timed out waiting (%s), +%d in the warm-up; peak %d threads, %s RSS",
				n, r.atOnce(), loadgen.Rate(lvl.Throughput), loadgen.Dur(lvl.Latency.P99), lvl.ErrorsTotal, errorKinds(lvl.Errors), lvl.Warmup.Errors, peak.Threads, mib(peak.RSS))
			failed = 0
		}
	}
	if failed > 0 && r.m.Name == "threads" && timeouts == lvl.ErrorsTotal && lvl.Requests > 0 && time.Duration(lvl.Latency.P99) <= loadTimeout {
		// What models/threads documents: its threads take turns for the
		// runtime's Ps in a first-in, first-out queue, and a round of it
		// can outlast the client's timeout when the machine is shared.
		// What it keeps: no crash, no wrong answer and no reset, every
		// request answered or timed out, the answered ones within it.
		r.documented(fmt.Sprintf("%d clients: %s req/s, p99 %s; %d of %d requests timed out waiting for their thread's turn (%s), +%d in the warm-up; none wrong or reset, the server alive; peak %d threads",
			n, loadgen.Rate(lvl.Throughput), loadgen.Dur(lvl.Latency.P99), lvl.ErrorsTotal, lvl.Requests+lvl.ErrorsTotal, errorKinds(lvl.Errors), lvl.Warmup.Errors, peak.Threads))
		return
	}
	if failed > 0 {
		r.errorf("%d requests failed (%s), %d in the warm-up; %s", lvl.ErrorsTotal+lvl.Warmup.Errors, errorKinds(lvl.Errors), lvl.Warmup.Errors, timeline(lvl))
	}
	if lvl.Requests == 0 {
		r.errorf("no request answered")
	}
}
