package cli

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// notifySocket listens where $NOTIFY_SOCKET points, as systemd does for
// a Type=notify unit, and returns what arrives.
func notifySocket(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	out := make(chan string, 64)
	go func() {
		buf := make([]byte, 512)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			out <- string(buf[:n])
		}
	}()
	return out
}

func TestNotify(t *testing.T) {
	got := notifySocket(t)
	log := slog.New(slog.DiscardHandler)
	Notify(log, "READY=1")
	select {
	case s := <-got:
		if s != "READY=1" {
			t.Errorf("systemd got %q", s)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("nothing reached the notification socket")
	}
	os.Unsetenv("NOTIFY_SOCKET")
	Notify(log, "READY=1") // started by hand: nothing to tell, no error
}

// The watchdog is pinged at half WatchdogSec while the work loop is
// alive, and not once it is stuck.
func TestWatchdog(t *testing.T) {
	got := notifySocket(t)
	t.Setenv("WATCHDOG_USEC", "100000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	alive := make(chan bool, 1)
	alive <- true
	isAlive := func() bool {
		v := <-alive
		alive <- v
		return v
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Watchdog(ctx, slog.New(slog.DiscardHandler), isAlive)
	for range 3 {
		select {
		case s := <-got:
			if !strings.Contains(s, "WATCHDOG=1") {
				t.Fatalf("systemd got %q", s)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no watchdog ping")
		}
	}
	<-alive
	alive <- false
	time.Sleep(60 * time.Millisecond) // a ping may have been on its way
	for len(got) > 0 {
		<-got
	}
	select {
	case s := <-got:
		t.Errorf("pinged %q while the loop is stuck", s)
	case <-time.After(300 * time.Millisecond):
	}
}
