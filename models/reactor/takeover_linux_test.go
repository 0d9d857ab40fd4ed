//go:build linux

package reactor

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWrittenCountsWhatTheSocketTook checks the count a takeover relies on
// to skip what gnet's last attempt wrote: between two calls, written grows
// by exactly what the socket accepted, whether or not the client has read
// it, and its acknowledgements do not change it.
func TestWrittenCountsWhatTheSocketTook(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	f, err := server.(*net.TCPConn).File() // a blocking duplicate, as a takeover's is not; written does not care
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}

	before, err := written(fd)
	if err != nil {
		t.Fatal(err)
	}
	// Fill the socket: the client reads nothing, so writes stop at EAGAIN.
	took, chunk := 0, make([]byte, 64<<10)
	for {
		n, err := unix.Write(fd, chunk)
		if err == unix.EAGAIN {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		took += n
	}
	after, err := written(fd)
	if err != nil {
		t.Fatal(err)
	}
	if after-before != int64(took) {
		t.Errorf("written grew by %d; the socket took %d", after-before, took)
	}

	// The client reads some: acknowledged bytes move from one count to the
	// other, and the sum stays.
	if _, err := client.Read(chunk); err != nil {
		t.Fatal(err)
	}
	if again, err := written(fd); err != nil || again != after {
		t.Errorf("after the client read: written %d, %v; want %d", again, err, after)
	}
}
