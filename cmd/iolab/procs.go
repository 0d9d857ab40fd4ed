package main

import (
	"context"
	"os"

	"iolab/loadgen"
)

// runProcs runs f.agents load generators, this same program started again
// with `iolab load -json -`, each with its share of every level's clients
// (and of -rate, -requests and -cpus), all at once, and merges their
// results exactly (loadgen.RunProcs). Each process has its own limit of
// open files, so together they can hold more connections than one may.
func (f *loadFlags) runProcs(ctx context.Context, cfg loadgen.Config) (*loadgen.Result, error) {
	cpus, err := parseCPUs(f.cpus)
	if err != nil {
		return nil, badUsage("-cpus: %v", err)
	}
	for _, c := range cfg.Clients {
		if c < f.agents {
			return nil, badUsage("-agents %d: more agents than the %d clients of a level", f.agents, c)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return loadgen.RunProcs(ctx, exe, cfg, f.agents, cpus)
}
