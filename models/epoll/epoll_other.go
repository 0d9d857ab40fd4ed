//go:build !linux

package epoll

import (
	"context"
	"errors"
	"net"
)

// ErrNotLinux is what Serve returns on systems without epoll(7).
var ErrNotLinux = errors.New("epoll: the epoll model needs Linux; on this system try -model goroutine or -model gnet")

// Serve reports that epoll(7) exists only on Linux.
func (s *Server) Serve(context.Context, func(net.Addr)) error { return ErrNotLinux }
