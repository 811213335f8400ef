package haproxytest

import (
	"net"
	"slices"
	"testing"
	"time"
)

func TestCarbon(t *testing.T) {
	c := NewCarbon(t)
	write := func(s string) net.Conn {
		t.Helper()
		conn, err := net.Dial("tcp", c.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
		return conn
	}

	conn := write("a 1 10\nb 2 10\nincompl")
	defer conn.Close()
	if got, want := c.WaitLines(t, 2, 5*time.Second), []string{"a 1 10", "b 2 10"}; !slices.Equal(got, want) {
		t.Fatalf("lines = %q, want %q", got, want)
	}

	c.CloseConns() // the incomplete line is discarded
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after CloseConns")
	}

	c.Stop()
	if conn, err := net.Dial("tcp", c.Addr()); err == nil {
		conn.Close()
		t.Fatal("dial succeeded while stopped")
	}
	c.Start(t)

	conn2 := write("c 3 20\n")
	defer conn2.Close()
	if got, want := c.WaitLines(t, 3, 5*time.Second), []string{"a 1 10", "b 2 10", "c 3 20"}; !slices.Equal(got, want) {
		t.Fatalf("lines = %q, want %q", got, want)
	}
	if n := c.Accepted(); n != 2 {
		t.Errorf("Accepted() = %d, want 2", n)
	}
	if c.Port() == 0 || c.Addr() != conn2.RemoteAddr().String() {
		t.Errorf("Addr() = %q, Port() = %d, connected to %s", c.Addr(), c.Port(), conn2.RemoteAddr())
	}
}
