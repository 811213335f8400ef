//go:build unix

package graphite

import (
	"io"
	"net"
	"os"
	"syscall"
)

// peerClosed reports whether carbon has closed c: io.EOF for an orderly
// close, the socket error for a reset, nil while the connection looks
// alive. Carbon never sends anything, so one non-blocking peek is enough:
// nothing to read means alive.
//
// It peeks through the raw socket because a read with an already expired
// deadline (SetReadDeadline(time.Now())) returns a timeout in Go without
// ever asking the kernel, so it cannot see the close.
func peerClosed(c net.Conn) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var closed error
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		// Go's sockets are non-blocking: this returns at once.
		n, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		switch {
		case rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK || rerr == syscall.EINTR:
			// Nothing to read: alive.
		case rerr != nil:
			closed = os.NewSyscallError("recvfrom", rerr)
		case n == 0:
			closed = io.EOF
		}
		return true // never wait for readability
	})
	if err != nil {
		return err
	}
	return closed
}
