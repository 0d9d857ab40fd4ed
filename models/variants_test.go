package models_test

import (
	"testing"

	"iolab/models"
)

// skipUnusable skips m's test where the system refuses the model (uring
// where io_uring is disabled), saying why.
func skipUnusable(t *testing.T, m models.Model) {
	t.Helper()
	if err := m.Usable(); err != nil {
		t.Skipf("%s: %v", m.Name, err)
	}
}

// suiteModels are what the conformance and reliability suites run: every
// registered model, and after epoll its edge-triggered variant (-edge,
// Config.Edge) and after reuseport its loops as processes (-procs,
// Config.Procs), each under a name of its own.
func suiteModels() []models.Model {
	var out []models.Model
	for _, m := range models.All() {
		out = append(out, m)
		switch m.Name {
		case "epoll":
			out = append(out, variant(m, "-edge", func(cfg *models.Config) { cfg.Edge = true }))
		case "reuseport":
			out = append(out, variant(m, "-procs", func(cfg *models.Config) { cfg.Procs = true }))
		}
	}
	return out
}

// variant returns m under the name "m.Name flag", with set applied to
// every Config it is given.
func variant(m models.Model, flag string, set func(*models.Config)) models.Model {
	v := m
	v.Name = m.Name + " " + flag
	v.Build = func(cfg models.Config) models.Server {
		set(&cfg)
		return m.Build(cfg)
	}
	return v
}

// lookupSuiteModel is models.Lookup over suiteModels' names.
func lookupSuiteModel(name string) (models.Model, error) {
	for _, m := range suiteModels() {
		if m.Name == name {
			return m, nil
		}
	}
	return models.Lookup(name) // for its error
}
