//go:build linux

package epoll

// connTable holds the open connections by descriptor, in a slice indexed
// by it, as the kernel's own descriptor table is: descriptors are small
// and reused lowest first, so it stays dense, and costs 8 bytes a
// connection where a map takes about three times that.
type connTable struct {
	byFD []*conn // nil where no connection is open; a loop may set entries to nil while it ranges over them
	n    int     // connections open
}

func (t *connTable) get(fd int) *conn {
	if fd < len(t.byFD) {
		return t.byFD[fd]
	}
	return nil
}

func (t *connTable) put(c *conn) {
	if c.fd >= len(t.byFD) {
		t.byFD = append(t.byFD, make([]*conn, c.fd+1-len(t.byFD))...)
	}
	t.byFD[c.fd] = c
	t.n++
}

func (t *connTable) remove(c *conn) {
	t.byFD[c.fd] = nil
	t.n--
}
