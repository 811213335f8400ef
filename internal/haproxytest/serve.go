package haproxytest

import "net"

// Serve accepts connections on ln until it is closed, and gives each to
// handle in a goroutine of its own, closing it after: a fake peer in a
// few lines (a hostile stats socket, a broken stats page).
func Serve(ln net.Listener, handle func(net.Conn)) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
}
