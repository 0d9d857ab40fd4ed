package proc

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// TCPCounters are the kernel's counters of what happens at a listening
// socket, for the whole machine, from /proc/net/netstat (TcpExt): the
// accept queue's overflows, and the handshakes dropped for them or for
// any other reason. Every listener counts in them, so read them as
// deltas over an interval in which the one server measured is the only
// busy one.
type TCPCounters struct {
	// ListenOverflows counts handshakes that found the accept queue full
	// (backlog+1 connections, capped by net.core.somaxconn): at the SYN,
	// which the kernel drops, and the client sends again; or at the final
	// ACK, which it drops too, and the client, connected as it believes,
	// waits for the server's retransmitted SYN-ACK. The counter does not
	// say which.
	ListenOverflows int64 `json:"listen_overflows"`
	// ListenDrops counts the handshakes dropped at a listener for any
	// reason, overflows included.
	ListenDrops int64 `json:"listen_drops"`
}

// ReadTCPCounters reads TcpExt's ListenOverflows and ListenDrops; zero
// where /proc/net/netstat cannot be read.
func ReadTCPCounters() TCPCounters {
	b, err := os.ReadFile("/proc/net/netstat")
	if err != nil {
		return TCPCounters{}
	}
	return parseNetstat(b)
}

// parseNetstat reads the TcpExt lines of /proc/net/netstat: a line of
// names, then a line of values, each starting "TcpExt:".
func parseNetstat(b []byte) TCPCounters {
	var c TCPCounters
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != "TcpExt:" {
			continue
		}
		if names == nil {
			names = fields
			continue
		}
		for i := 1; i < len(fields) && i < len(names); i++ {
			v, err := strconv.ParseInt(fields[i], 10, 64)
			if err != nil {
				continue
			}
			switch names[i] {
			case "ListenOverflows":
				c.ListenOverflows = v
			case "ListenDrops":
				c.ListenDrops = v
			}
		}
		break
	}
	return c
}

// Sub returns c less before: the counts of the interval between them.
func (c TCPCounters) Sub(before TCPCounters) TCPCounters {
	return TCPCounters{ListenOverflows: c.ListenOverflows - before.ListenOverflows, ListenDrops: c.ListenDrops - before.ListenDrops}
}
