package graphite

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// unsent returns how many bytes the kernel holds for c that carbon has
// not acknowledged yet (SIOCOUTQ). While a write is blocked on a full
// send buffer, this going down is the only sign that carbon still reads:
// Linux wakes a blocked writer only once a third of the buffer is free,
// which at 1 MB/s into a 4 MB buffer takes longer than a write timeout.
func unsent(c net.Conn) (int, bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	n, qerr := 0, error(nil)
	if err := rc.Control(func(fd uintptr) { n, qerr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ) }); err != nil || qerr != nil {
		return 0, false
	}
	return n, true
}
