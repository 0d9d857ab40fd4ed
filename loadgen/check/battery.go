package check

import (
	"strings"
	"time"

	"iolab/models"
)

// Scenario is one check of the battery: one row of the table.
type Scenario struct {
	Name string
	// echo scenarios send lines and read them back: they do not apply to
	// a server that speaks first and reads nothing.
	echo bool
	// concurrent scenarios need a model that serves clients at once;
	// they do not apply to a serial one.
	concurrent bool
	// process scenarios need the server's process: its /proc, signals,
	// its exit. They do not apply to a server at an address.
	process bool
	// settings, if set, says which setting of iolab's models the
	// scenario needs to give the server: it does not apply to another.
	settings string
	// defaultPool runs a model with a pool (pool, prefork) with its
	// default -workers rather than Form.poolWorkers: the scenario is
	// about what a fixed pool does when clients outnumber it.
	defaultPool bool
	// oneConnPerProcess scenarios are about a process that runs out of
	// descriptors for its connections; they do not apply to a model whose
	// processes each hold one (fork, prefork).
	oneConnPerProcess bool
	// wholeLimit scenarios count on -max-conns holding for the whole
	// server; reuseport -procs shares it out among its processes instead.
	wholeLimit bool
	// stops is set for a scenario that ends the server itself; the checks
	// after it do not apply.
	stops bool
	// noFile, if not zero, is the server's RLIMIT_NOFILE in the scenario.
	noFile uint64
	// server adjusts a model's settings.
	server func(f *Form, s *Spec)
	// run plays the scenario against r.c and sets r's figure.
	run func(r *run)
}

// Battery is every check, in the table's order.
var Battery = []Scenario{
	{Name: "protocol", run: (*run).protocol},
	{Name: "fd limit at accept (default -max-conns)", echo: true, concurrent: true, process: true, oneConnPerProcess: true, noFile: fdLimit,
		run: func(r *run) { r.fdExhaustion(false) }},
	{Name: "EMFILE at accept (-max-conns above the fd limit)", echo: true, concurrent: true, process: true, oneConnPerProcess: true, noFile: fdLimit,
		settings: "-max-conns above the descriptor limit",
		server:   func(_ *Form, s *Spec) { s.MaxConns = 1000 },
		run:      func(r *run) { r.fdExhaustion(true) }},
	{Name: "connect-then-RST storm", run: (*run).rstStorm},
	{Name: "slowloris", echo: true, server: func(f *Form, s *Spec) { s.RequestTimeout, s.IdleTimeout = f.timeout, 5*f.timeout },
		run: (*run).slowloris},
	{Name: "idle connections", echo: true, server: func(f *Form, s *Spec) { s.IdleTimeout = f.timeout },
		run: (*run).idleConns},
	{Name: "client that never reads", echo: true, server: func(f *Form, s *Spec) { s.IdleTimeout = neverReadsIdle * f.timeout },
		run: (*run).neverReads},
	{Name: "oversized line", echo: true, server: func(_ *Form, s *Spec) { s.MaxLine = maxLine },
		run: (*run).oversized},
	{Name: "fuzzed input", echo: true, server: func(_ *Form, s *Spec) { s.MaxLine = maxLine },
		run: (*run).fuzzed},
	{Name: "flood past -max-conns", echo: true, wholeLimit: true, settings: "-max-conns, a limit it is given",
		server: func(f *Form, s *Spec) { s.MaxConns = f.floodLimit },
		run:    (*run).flood},
	{Name: "RST in the middle of a reply", echo: true, run: (*run).rstMidReply},
	{Name: "half-close with megabytes in flight", echo: true, run: (*run).halfClose},
	{Name: "elephant beside 100 small clients", echo: true, concurrent: true, run: (*run).elephant},
	{Name: "data and FIN in one segment", echo: true, run: (*run).dataAndFIN},
	{Name: "signal storm", process: true, server: func(f *Form, s *Spec) { s.IdleTimeout = f.timeout },
		run: (*run).signalStorm},
	// An overflowing listen(1) drops handshakes and segments; a client's
	// FIN can then reach the server only after its retransmissions back
	// off, past the checks' patience. The idle timeout closes such a
	// connection in time, as it would in service.
	{Name: "listen(1) overflow", server: func(f *Form, s *Spec) { s.Backlog, s.IdleTimeout = 1, f.timeout },
		run: (*run).listenOne},
	{Name: "10,000 concurrent clients", concurrent: true, defaultPool: true, run: (*run).manyClients},
	// Last: a server the check started and stopped may not bind its port
	// again at once (TIME_WAIT), and nothing comes after.
	{Name: "graceful shutdown under load", process: true, stops: true,
		server: func(_ *Form, s *Spec) { s.Work, s.ShutdownTimeout = "sleep:20ms", 5*time.Second },
		run:    (*run).shutdownUnderLoad},
}

// notApplicable says why sc does not apply to the target, or "".
func (sc *Scenario) notApplicable(t *Target) string {
	m := t.Model
	switch {
	case sc.echo && t.proto() != models.Echo:
		return "echo protocol only: this server speaks first and reads nothing"
	case sc.process && !t.model() && t.Command == "":
		return "needs the server's process (/proc, signals, its exit): give the command with -server so that the check starts it"
	case sc.settings != "" && !t.model():
		return "needs " + sc.settings + ", a setting of iolab's models, which another server does not take"
	case sc.concurrent && m.Serial:
		return "serial model: one client at a time"
	case sc.oneConnPerProcess && m.Processes:
		return "each process serves one connection at a time: accept(2) in it cannot run out of descriptors"
	}
	if strings.HasSuffix(m.Name, " -procs") {
		switch {
		case sc.oneConnPerProcess:
			return "each loop process has a descriptor limit of its own, which is what -procs is for: the clients spread over the processes stay below each one's"
		case sc.wholeLimit:
			return "-procs shares -max-conns out among the processes, and the kernel's hash ignores it: a client hashed to a full process waits while another has room"
		}
	}
	return ""
}

// Select returns the scenarios of Battery whose names contain one of
// only (all if only is empty) and none of skip, case-insensitively, and
// the words that matched no scenario.
func Select(only, skip []string) (picked []Scenario, unknown []string) {
	matches := func(sc Scenario, w string) bool {
		return strings.Contains(strings.ToLower(sc.Name), strings.ToLower(w))
	}
	for _, w := range append(append([]string(nil), only...), skip...) {
		found := false
		for _, sc := range Battery {
			found = found || matches(sc, w)
		}
		if !found {
			unknown = append(unknown, w)
		}
	}
	for _, sc := range Battery {
		in := len(only) == 0
		for _, w := range only {
			in = in || matches(sc, w)
		}
		for _, w := range skip {
			in = in && !matches(sc, w)
		}
		if in {
			picked = append(picked, sc)
		}
	}
	return picked, unknown
}
