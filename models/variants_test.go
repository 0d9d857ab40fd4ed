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
// Config.Edge) under a name of its own, "epoll -edge".
func suiteModels() []models.Model {
	var out []models.Model
	for _, m := range models.All() {
		out = append(out, m)
		if m.Name == "epoll" {
			edge := m
			edge.Name = "epoll -edge"
			edge.New = func(cfg models.Config) (models.Server, error) {
				cfg.Edge = true
				return m.New(cfg)
			}
			out = append(out, edge)
		}
	}
	return out
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
