package models

import (
	"flag"
	"fmt"
	"io"
)

// Flags defines on fs the flags of `iolab serve` that set c: one for
// every field a user may set, each with c's current value as its default.
// The numbers, durations and switches are bound to c's fields, so fs.Parse
// sets them. -proto, -work and -greeting stay text until the function
// Flags returns parses them into c, once fs has parsed its arguments: the
// flag package would name a bad -proto or -work as `invalid value "http"
// for flag -proto: ...` and say the value twice; parsed afterwards, it is
// named in the models' own words, and where the caller's checks of its
// other flags put it.
//
// Log and OnWork have no flag: they are the caller's.
func (c *Config) Flags(fs *flag.FlagSet) (parse func() error) {
	proto := fs.String("proto", c.Proto.String(), "protocol: greeting (write the greeting, close) or echo (answer each line); default $IOLAB_PROTO or greeting")
	work := fs.String("work", c.Work.String(), "work per request: none, sleep:DURATION (wait, like a slow backend), cpu:DURATION (compute), block:DURATION (a blocking system call on the serving thread) or disk:SIZE (read the data file, missing the page cache); default $IOLAB_WORK or none")
	fs.StringVar(&c.WorkMark, "work-mark", c.WorkMark, "only echo lines that begin with this text do the -work; the others are answered at once (default: every request)")
	fs.StringVar(&c.DataFile, "data-file", c.DataFile, "the file disk: work reads, created if missing (256 MiB); it must be on a disk, not tmpfs (default: iolab/disk.dat in the user's cache directory)")
	greeting := fs.String("greeting", string(c.Greeting), "text of the greeting")
	fs.StringVar(&c.Addr, "addr", c.Addr, "TCP address to listen on, host:port")
	fs.IntVar(&c.Backlog, "backlog", c.Backlog, "listen(2) backlog; 0 is the system maximum (net.core.somaxconn); 1 reproduces the tutorial's listen(1)")
	fs.IntVar(&c.MaxLine, "max-line", c.MaxLine, "longest echo line in bytes, newline included; longer gets \"ERR line too long\" and a close")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "close a connection after this long without traffic; also the write timeout: one answer, one deadline")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", c.RequestTimeout, "an echo line must arrive in full within this long of its first byte")
	fs.IntVar(&c.MaxConns, "max-conns", c.MaxConns, fmt.Sprintf("connections served at once; at the limit new clients wait in the accept queue (0: the open-file limit less a reserve, %d here)", DefaultMaxConns()))
	fs.IntVar(&c.MaxOutput, "max-output", c.MaxOutput, "bytes of answers a connection may have waiting to be written; past it the server stops reading that client (0: four times -max-line)")
	fs.IntVar(&c.Workers, "workers", c.Workers, "pool, prefork: worker threads or processes started at boot, each serving one connection at a time; reuseport: event loops (0: the model's default)")
	fs.BoolVar(&c.Edge, "edge", c.Edge, "epoll, reuseport: watch sockets edge-triggered (EPOLLET), draining each until EAGAIN; other models ignore it")
	fs.BoolVar(&c.Procs, "procs", c.Procs, "reuseport: run the event loops as processes, one per listener, each with its own open-file limit; other models ignore it")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "on SIGINT/SIGTERM, wait this long for requests in flight")
	return func() error {
		var err error
		if c.Proto, err = ParseProto(*proto); err != nil {
			return err
		}
		if c.Work, err = ParseWork(*work); err != nil {
			return err
		}
		c.Greeting = []byte(*greeting)
		return nil
	}
}

// Args returns the flags that make DefaultConfig into c: -name=value for
// each flag of Flags whose value in c is not its default. A child process
// rebuilds its parent's Config from them (ParseArgs), and `iolab serve`
// takes them as they are.
func (c *Config) Args() []string {
	// Copies: defining a flag writes its default into the field it is
	// bound to, and c may be in use meanwhile.
	def, cur := DefaultConfig(), *c
	return FlagArgs(func(fs *flag.FlagSet) { def.Flags(fs) }, func(fs *flag.FlagSet) { cur.Flags(fs) })
}

// ParseArgs sets c from args, the flags of Flags as Args writes them,
// starting from c's values. It does not validate the result.
func (c *Config) ParseArgs(args []string) error {
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the error says it all; no usage to print
	parse := c.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("models: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("models: unexpected argument %q", fs.Arg(0))
	}
	return parse()
}

// FlagArgs returns the arguments that take the flags defined by from to
// the values of the same flags defined by to: -name=value for each flag
// whose value (as Value.String gives it) differs, in the alphabetical
// order of the flags. A Config defines its flags with its own values as
// defaults, so that defining them once from the defaults and once from a
// Config gives, here, the command line that makes the one into the other.
func FlagArgs(from, to func(*flag.FlagSet)) []string {
	a := flag.NewFlagSet("from", flag.ContinueOnError)
	b := flag.NewFlagSet("to", flag.ContinueOnError)
	from(a)
	to(b)
	var args []string
	a.VisitAll(func(f *flag.Flag) {
		if v := b.Lookup(f.Name).Value.String(); v != f.Value.String() {
			args = append(args, "-"+f.Name+"="+v)
		}
	})
	return args
}
