//go:build !linux

package prefork

import "iolab/models/internal/child"

// runWorker is never reached on this system.
func runWorker(child.Spec) int { return 2 }
