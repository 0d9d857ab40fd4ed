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
