//go:build !unix

package graphite

import (
	"errors"
	"net"
	"os"
	"time"
)

// peerClosed reports whether carbon has closed c: the read error (io.EOF
// for an orderly close), or nil while the connection looks alive. Carbon
// never sends anything, so a read that times out means alive. The deadline
// must lie in the future: with an expired one Go returns a timeout without
// asking the kernel.
func peerClosed(c net.Conn) error {
	if err := c.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		return err
	}
	var b [1]byte
	_, err := c.Read(b[:])
	if derr := c.SetReadDeadline(time.Time{}); derr != nil {
		return derr
	}
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return err
}
