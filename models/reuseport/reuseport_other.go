//go:build !linux

package reuseport

import (
	"context"
	"net"

	"iolab/models/internal/child"
	"iolab/models/internal/sock"
)

// Serve reports that the multi-reactor is implemented for Linux only.
func (s *Server) Serve(context.Context, func(net.Addr)) error { return sock.ErrUnsupported }

// runLoop is never reached on this system.
func runLoop(child.Spec) int { return 2 }
