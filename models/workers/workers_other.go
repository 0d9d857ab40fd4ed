//go:build !linux

package workers

import (
	"context"
	"net"

	"iolab/models/internal/sock"
)

// Serve reports that the AMPED model is implemented for Linux only.
func (s *Server) Serve(context.Context, func(net.Addr)) error { return sock.ErrUnsupported }
