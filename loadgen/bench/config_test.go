package bench

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"iolab/models"
)

// TestValidate changes one thing at a time in a valid Config and checks
// that Validate accepts it or names what is wrong.
func TestValidate(t *testing.T) {
	seed, _ := LookupScenario("seed")
	valid := func() Config {
		return Config{Binary: "/bin/iolab", Scenarios: []Scenario{seed}, Models: []string{"epoll"},
			Envs: []string{Native}, Duration: time.Second, Warmup: time.Second, Timeout: time.Second,
			ServerCPUs: []int{1}, LoadCPUs: []int{0}, OutDir: "results"}
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string // in the error; "" for valid
	}{
		{"valid", func(*Config) {}, ""},
		{"no warm-up", func(c *Config) { c.Warmup = 0 }, ""},
		{"no envs means native", func(c *Config) { c.Envs = nil }, ""},
		{"docker needs no binary", func(c *Config) { c.Envs, c.Binary, c.Image = []string{DockerHost}, "", DefaultImage }, ""},
		{"no pinning", func(c *Config) { c.NoPin, c.ServerCPUs, c.LoadCPUs = true, nil, nil }, ""},
		{"server side pinned only", func(c *Config) { c.LoadCPUs = nil }, ""},
		{"client override", func(c *Config) { c.Clients = []int{3} }, ""},
		{"work override", func(c *Config) { c.Work = &models.Work{Kind: models.Sleep, D: time.Millisecond} }, ""},
		{"no work override", func(c *Config) { c.Work = &models.Work{} }, ""},
		{"workers", func(c *Config) { c.Workers = 4 }, ""},
		{"uring engine", func(c *Config) { c.Engine = "uring" }, ""},

		{"no scenarios", func(c *Config) { c.Scenarios = nil }, "no scenarios"},
		{"no models: each scenario's own", func(c *Config) { c.Models = nil }, ""},
		{"unknown model", func(c *Config) { c.Models = []string{"epol"} }, `unknown model "epol"`},
		{"unknown model", func(c *Config) { c.Models = []string{"epoll", "nope"} }, `unknown model "nope"`},
		{"zero duration", func(c *Config) { c.Duration = 0 }, "duration 0s is not positive"},
		{"negative warm-up", func(c *Config) { c.Warmup = -time.Second }, "negative warm-up"},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, "timeout 0s is not positive"},
		{"no results folder", func(c *Config) { c.OutDir = "" }, "no results folder"},
		{"unknown env", func(c *Config) { c.Envs = []string{Native, "nowhere"} }, `unknown environment "nowhere"`},
		{"native needs a binary", func(c *Config) { c.Binary = "" }, "no iolab binary"},
		{"docker needs an image", func(c *Config) { c.Envs = []string{DockerBridge} }, "no Docker image"},
		{"zero clients", func(c *Config) { c.Clients = []int{1, 0} }, "0 is not a number of clients"},
		{"scenario without levels", func(c *Config) { c.Scenarios = []Scenario{{Name: "empty"}} }, "scenario empty has no client levels"},
		{"scenario level zero", func(c *Config) { c.Scenarios = []Scenario{{Name: "zero", Clients: []int{0}}} }, "0 is not a number of clients"},
		{"work without duration", func(c *Config) { c.Work = &models.Work{Kind: models.CPU} }, "cpu:0s: 0s is not a positive duration"},
		{"unknown work kind", func(c *Config) { c.Work = &models.Work{Kind: 9, D: time.Second} }, "unknown work kind 9"},
		{"CPUs with NoPin", func(c *Config) { c.NoPin = true }, "NoPin, yet CPUs"},
		{"negative CPU", func(c *Config) { c.LoadCPUs = []int{0, -1} }, "-1 is not a CPU number"},
		{"negative workers", func(c *Config) { c.Workers = -1 }, "workers -1 is negative"},
		{"unknown engine", func(c *Config) { c.Engine = "poll" }, `unknown engine "poll"`},
		{"uring engine in docker", func(c *Config) { c.Engine, c.Envs, c.Image = "uring", []string{DockerBridge}, DefaultImage }, "seccomp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.change(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.want != "" && err == nil:
				t.Errorf("Validate() = nil, want an error with %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("Validate() = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestLoadEngine checks that the engine reaches the echo scenarios' load
// and only theirs.
func TestLoadEngine(t *testing.T) {
	cfg := Config{Engine: "uring", Duration: time.Second, Timeout: time.Second}
	for _, name := range []string{"throughput", "seed"} {
		sc, _ := LookupScenario(name)
		got := cfg.loadConfig(sc, "127.0.0.1:1", 1).Engine
		want := "epoll"
		if sc.Proto == models.Echo {
			want = "uring"
		}
		if got != want {
			t.Errorf("scenario %s (%v): engine %q, want %q", name, sc.Proto, got, want)
		}
	}
}

// TestRunValidates checks that Run refuses what Validate refuses, before
// it creates the results folder or starts anything.
func TestRunValidates(t *testing.T) {
	out := t.TempDir() + "/results"
	_, err := Run(t.Context(), Config{Models: []string{"nope"}, Scenarios: Scenarios, Duration: time.Second,
		Timeout: time.Second, Binary: "/bin/iolab", NoPin: true, OutDir: out})
	if !errors.Is(err, models.ErrUnknownModel) {
		t.Errorf("Run with an unknown model: %v, want models.ErrUnknownModel", err)
	}
	if _, serr := os.Stat(out); serr == nil {
		t.Errorf("Run with an unknown model created %s", out)
	}
}
