package proc

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// KernelMemory is what the kernel holds for the machine's sockets: the
// slab caches (socket, inode, file and epoll structures among them) and
// the TCP sockets' buffers. Like TCPCounters, it is the whole machine's:
// read it as a difference over an interval in which one server and its
// clients are the only ones opening sockets.
type KernelMemory struct {
	// Slab is /proc/meminfo's Slab, in bytes: every slab cache.
	Slab int64 `json:"slab_bytes"`
	// TCPSockets is /proc/net/sockstat's TCP inuse: TCP sockets open,
	// listening ones included (a loopback connection has two).
	TCPSockets int64 `json:"tcp_sockets"`
	// TCPBuffers is /proc/net/sockstat's TCP mem, in bytes: the pages
	// the TCP sockets' queues hold.
	TCPBuffers int64 `json:"tcp_buffer_bytes"`
}

// ReadKernelMemory reads KernelMemory; zero where /proc cannot be read.
func ReadKernelMemory() KernelMemory {
	var k KernelMemory
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		k.Slab = parseMeminfo(b, "Slab")
	}
	if b, err := os.ReadFile("/proc/net/sockstat"); err == nil {
		k.TCPSockets, k.TCPBuffers = parseSockstat(b)
		k.TCPBuffers *= int64(os.Getpagesize())
	}
	return k
}

// parseMeminfo returns the field name of /proc/meminfo, "Name:  123 kB",
// in bytes.
func parseMeminfo(b []byte, name string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == name+":" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			if len(f) == 3 && f[2] == "kB" {
				v <<= 10
			}
			return v
		}
	}
	return 0
}

// parseSockstat returns the inuse and mem (pages) of the TCP line of
// /proc/net/sockstat: "TCP: inuse 5 orphan 0 tw 0 alloc 7 mem 1".
func parseSockstat(b []byte) (inuse, pages int64) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "TCP:" {
			continue
		}
		for i := 1; i+1 < len(f); i += 2 {
			v, _ := strconv.ParseInt(f[i+1], 10, 64)
			switch f[i] {
			case "inuse":
				inuse = v
			case "mem":
				pages = v
			}
		}
	}
	return inuse, pages
}
