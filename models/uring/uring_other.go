//go:build !linux

package uring

import (
	"context"
	"fmt"
	"net"
)

// Available reports that io_uring exists only on Linux.
func Available() error {
	return fmt.Errorf("%w: io_uring(7) exists only on Linux; on this system try -model goroutine or -model gnet", ErrUnavailable)
}

// Serve reports that io_uring exists only on Linux.
func (s *Server) Serve(context.Context, func(net.Addr)) error { return Available() }
