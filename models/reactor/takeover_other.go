//go:build !linux

package reactor

import "errors"

// written would count what a socket has been given to send; only Linux
// says (TCP_INFO's tcpi_bytes_acked and SIOCOUTQ), so elsewhere the model
// does not take sockets over, and behaves as gnet does.
func written(int) (int64, error) { return 0, errNoCount }

// errNoCount is written's error on systems other than Linux.
var errNoCount = errors.New("reactor: counting a socket's bytes needs Linux")
