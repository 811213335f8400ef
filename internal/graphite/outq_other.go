//go:build !linux

package graphite

import "net"

// unsent is not known here: only bytes a write moves count as progress.
func unsent(net.Conn) (int, bool) { return 0, false }
