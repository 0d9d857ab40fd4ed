//go:build !linux

package reuseport

import "iolab/models/internal/child"

// runLoop is never reached on this system.
func runLoop(child.Spec) int { return 2 }
