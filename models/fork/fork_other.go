//go:build !linux

package fork

import "iolab/models/internal/child"

// serveOne is never reached on this system.
func serveOne(child.Spec) int { return 2 }
