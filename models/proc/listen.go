package proc

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Listening reports whether a TCP socket of this process's network
// namespace listens on port, on any address (ListeningIn /proc/net).
func Listening(port int) bool { return ListeningIn("/proc/net", port) }

// ListeningIn reports whether a TCP socket listens on port, on any
// address, in the network namespace whose tcp and tcp6 tables are in
// netDir: /proc/net for this process's, /proc/PID/net for another's (a
// container's, read from the host). It asks the kernel, not the server:
// a connection to find out would be a client, answered and counted by a
// greeting server, and served by a sequential one instead of the next.
func ListeningIn(netDir string, port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join(netDir, f))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Scan() // the header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// The local address is field 1, the state field 3: 0A is LISTEN.
			if len(fields) > 3 && fields[3] == "0A" && strings.HasSuffix(fields[1], want) {
				return true
			}
		}
	}
	return false
}
