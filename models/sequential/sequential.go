// Package sequential is the tutorial's first server: one thread blocks in
// accept(2), then in read(2) and write(2) serving that connection to the
// end, closes it, and only then accepts the next. Meanwhile every other
// client waits in the kernel's accept queue (listen(2)'s backlog) or, once
// that is full, in SYN retransmissions.
//
// Read it in this order: sequential.go (Serve: the accept loop, on one
// locked OS thread), then models/internal/blocking/blocking_linux.go
// (Listener.Accept and Listener.Serve, shared with the threads model),
// then models/converse.go (Converse: the conversation every blocking model
// holds). The one thread blocks in the kernel: in accept4(2) in
// sock.Accept (models/internal/sock/sock_linux.go), waiting for a client,
// then in read(2) in sock.Conn.Read (conn_linux.go, same directory),
// waiting for its request, and in write(2) in sock.Conn.Write while the
// client is slow to read. Sleep work parks it too, in Converse's
// time.Sleep. The connection limit (-max-conns) never binds here: one
// connection at a time is below any limit.
package sequential

import (
	"context"
	"net"
	"runtime"

	"iolab/models"
	"iolab/models/internal/blocking"
)

// Server is the sequential model.
type Server struct {
	cfg models.Config
}

func init() {
	models.Register(models.Model{
		Name:  "sequential",
		Waits: "one OS thread blocks in accept(2), then in read(2)/write(2) of that one client; the others queue",
		Limits: "serves one client at a time; the others wait in the kernel's accept queue (-backlog), and past it in SYN retries. " +
			"A client that stops reading holds everyone up until -idle-timeout closes it (write_timeout).",
		Source: "models/sequential",
		Serial: true,
		Linux:  true,
		Build:  func(cfg models.Config) models.Server { return &Server{cfg: cfg} },
	})
}

// Serve accepts and serves one connection at a time on one OS thread.
func (s *Server) Serve(ctx context.Context, ready func(net.Addr)) error {
	ln, err := blocking.Listen(ctx, &s.cfg, "sequential", ready)
	if err != nil {
		return err
	}
	defer ln.Close()

	// One thread does everything, as in the Python tutorial.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for {
		c, ok := ln.Accept() // blocks this thread in accept4(2)
		if !ok {
			return nil
		}
		// Blocks this same thread in read(2) and write(2) until the client
		// is done. Meanwhile nobody calls accept.
		ln.Serve(c)
	}
}
