package models

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// settable returns c without the fields that have no flag (Log, OnWork),
// for comparing Configs.
func settable(c Config) Config {
	c.Log, c.OnWork = Config{}.Log, nil
	return c
}

// TestArgsRoundTrip checks that the flags Args writes rebuild the Config
// from DefaultConfig, through the same flags `iolab serve` parses.
func TestArgsRoundTrip(t *testing.T) {
	everything := DefaultConfig()
	everything.Addr, everything.Proto, everything.Greeting = "127.0.0.1:0", Echo, []byte("olá = hello, with spaces")
	everything.Work = Work{Kind: CPU, D: 1500 * time.Microsecond}
	everything.Backlog, everything.MaxLine, everything.MaxConns, everything.MaxOutput = 1, 2, 120000, 1<<20
	everything.IdleTimeout, everything.RequestTimeout, everything.ShutdownTimeout = 90*time.Second, 250*time.Millisecond, 0
	everything.Workers, everything.Edge, everything.Procs = 7, true, true
	noGreeting := DefaultConfig()
	noGreeting.Proto, noGreeting.Greeting = Echo, []byte{}
	sleep := DefaultConfig()
	sleep.Work = Work{Kind: Sleep, D: 10 * time.Millisecond}
	for name, c := range map[string]Config{"default": DefaultConfig(), "everything": everything, "no greeting": noGreeting, "sleep": sleep} {
		args := c.Args()
		got := DefaultConfig()
		if err := got.ParseArgs(args); err != nil {
			t.Errorf("%s: ParseArgs(%q): %v", name, args, err)
			continue
		}
		if !reflect.DeepEqual(settable(got), settable(c)) {
			t.Errorf("%s: ParseArgs(%q) = %+v, want %+v", name, args, settable(got), settable(c))
		}
	}
	if args := (&Config{}).Args(); len(args) == 0 {
		t.Error("the zero Config has the flags of DefaultConfig")
	}
	if def := DefaultConfig(); len(def.Args()) != 0 {
		t.Errorf("DefaultConfig().Args() = %q, want none", def.Args())
	}
	want := []string{"-proto=echo", "-work=sleep:10ms"}
	c := DefaultConfig()
	c.Proto, c.Work = Echo, sleep.Work
	if got := c.Args(); !slices.Equal(got, want) {
		t.Errorf("Args() = %q, want %q", got, want)
	}
}

// TestFlagsCoverConfig checks that every field of Config but Log and
// OnWork has a flag: a field changed from its default shows in Args.
func TestFlagsCoverConfig(t *testing.T) {
	def := reflect.ValueOf(DefaultConfig())
	for i := range def.NumField() {
		field := def.Type().Field(i)
		if field.Name == "Log" || field.Name == "OnWork" {
			continue
		}
		c := DefaultConfig()
		v := reflect.ValueOf(&c).Elem().Field(i)
		switch x := v.Addr().Interface().(type) {
		case *Proto:
			*x = Echo
		case *Work:
			*x = Work{Kind: Sleep, D: time.Millisecond}
		case *[]byte:
			*x = append(*x, '!')
		case *string:
			*x += "1"
		case *bool:
			*x = !*x
		case *int:
			*x++
		case *time.Duration:
			*x += time.Second
		default:
			t.Errorf("Config.%s: a %v, which this test cannot change", field.Name, field.Type)
			continue
		}
		if len(c.Args()) != 1 {
			t.Errorf("Config.%s changed: Args() = %q, want one flag", field.Name, c.Args())
		}
	}
}

// TestParseArgsErrors checks that ParseArgs refuses what Args never
// writes.
func TestParseArgsErrors(t *testing.T) {
	for _, args := range [][]string{{"-bogus"}, {"-backlog=x"}, {"-proto=http"}, {"-work=nap:1s"}, {"extra"}} {
		c := DefaultConfig()
		if err := c.ParseArgs(args); err == nil {
			t.Errorf("ParseArgs(%q) succeeded", args)
		}
	}
}
