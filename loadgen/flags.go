package loadgen

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"iolab/models"
)

// Flags defines on fs the flags of `iolab load` that set c, each with c's
// current value as its default. The numbers and durations are bound to
// c's fields; -proto, -clients, -expect and -source stay text until the
// function Flags returns parses them into c, once fs has parsed its
// arguments, so that a bad value is named in the load generator's words
// rather than the flag package's (as models.Config.Flags does).
//
// Progress and Mark have no flag: they are the caller's.
func (c *Config) Flags(fs *flag.FlagSet) (parse func() error) {
	levels := make([]string, len(c.Clients))
	for i, n := range c.Clients {
		levels[i] = strconv.Itoa(n)
	}
	sources := make([]string, len(c.Sources))
	for i, a := range c.Sources {
		sources[i] = a.String()
	}
	fs.StringVar(&c.Addr, "addr", c.Addr, "server address, host:port")
	proto := fs.String("proto", c.Proto.String(), "workload: greeting (connect, read until EOF, close) or echo (a line out, the same line back, on a persistent connection)")
	clients := fs.String("clients", strings.Join(levels, ","), "client levels, comma-separated: one row per level")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "open loop: requests per second in total, spread over the clients (0: closed loop)")
	fs.Float64Var(&c.ConnectRate, "connect-rate", c.ConnectRate, "start the clients at this many per second in total rather than all at once (0), so that a burst of handshakes does not overflow the server's accept queue; let -warmup last clients ÷ rate")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "measured interval of each level")
	fs.Int64Var(&c.Requests, "requests", c.Requests, "end each level after this many measured requests instead of -duration")
	fs.DurationVar(&c.Warmup, "warmup", c.Warmup, "warm-up before each level, measured apart and left out of the results")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "bound on each phase of a request: connect, and wait for the answer")
	fs.IntVar(&c.Size, "size", c.Size, "echo line length in bytes, newline included")
	fs.IntVar(&c.Pipeline, "pipeline", c.Pipeline, "echo lines in flight per connection")
	fs.StringVar(&c.Engine, "engine", c.Engine, "how echo clients wait and move bytes: epoll (readiness, then a read and a write per line) or uring (io_uring: a multishot receive per connection, each round's sends submitted with the wait in one system call)")
	fs.Float64Var(&c.Heavy, "heavy", c.Heavy, "echo: mark this share of the lines (0 to 1) heavy: each begins with -heavy-mark, and heavy and cheap lines are timed apart (a server given -work-mark with the same text does its -work for the heavy lines only)")
	fs.StringVar(&c.HeavyMark, "heavy-mark", c.HeavyMark, "the text that begins each heavy line (-heavy)")
	expect := fs.String("expect", string(c.Expect), "greeting: the exact text expected (default: any non-empty reply)")
	source := fs.String("source", strings.Join(sources, ","), "local addresses to bind client sockets to, each client its own in turn: a range 127.0.0.2-127.0.0.50 or a comma-separated list; on loopback this lifts the limit of ~28,000 ephemeral ports per source address (keep under ~14,000 clients an address: connect(2) tries the even ports first, and past them searches the whole range for each connection)")
	return func() error {
		var err error
		if c.Proto, err = models.ParseProto(*proto); err != nil {
			return err
		}
		if c.Clients, err = ParseClients(*clients); err != nil {
			return fmt.Errorf("-clients: %w", err)
		}
		if c.Sources, err = ParseSources(*source); err != nil {
			return fmt.Errorf("-source: %w", err)
		}
		c.Expect = nil // any non-empty greeting
		if *expect != "" {
			c.Expect = []byte(*expect)
		}
		return nil
	}
}

// Args returns the flags of `iolab load` that measure what c measures:
// -name=value for each flag of Flags whose value in c is not its default
// (DefaultConfig).
func (c *Config) Args() []string {
	// Copies: defining a flag writes its default into the field it is
	// bound to, and c may be in use meanwhile.
	def, cur := DefaultConfig(), *c
	return models.FlagArgs(func(fs *flag.FlagSet) { def.Flags(fs) }, func(fs *flag.FlagSet) { cur.Flags(fs) })
}

// ParseClients parses a list of client levels, "1,2,5,10"; Validate
// checks each level.
func ParseClients(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		out = append(out, n)
	}
	return out, nil
}
