package cli

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// notifySocket listens where $NOTIFY_SOCKET points, as systemd does for
// a Type=notify unit, and returns what arrives.
func notifySocket(t *testing.T) <-chan string {
	t.Helper()
	c := notifyConn(t)
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
	case <-time.After(30 * time.Second): // only ends a failing test
		t.Fatal("nothing reached the notification socket")
	}
	os.Unsetenv("NOTIFY_SOCKET")
	Notify(log, "READY=1") // started by hand: nothing to tell, no error
}

// notifyConn listens where $NOTIFY_SOCKET points, as systemd does for a
// Type=notify unit, for a test that reads it with received. Make it
// outside a synctest bubble.
func notifyConn(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return c
}

// received returns the datagrams waiting on c, without waiting for more:
// a notification is queued on c before the send that made it returns.
func received(t *testing.T, c *net.UnixConn) []string {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	buf := make([]byte, 512)
	for {
		n, rerr := 0, error(nil)
		if err := rc.Read(func(fd uintptr) bool {
			n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			return true // never wait
		}); err != nil {
			t.Fatal(err)
		}
		if rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK {
			return got
		}
		if rerr != nil {
			t.Fatal(rerr)
		}
		got = append(got, string(buf[:n]))
	}
}

// The watchdog is pinged at half WatchdogSec while the work loop is
// alive, and not once it is stuck. It runs on synctest's clock: each
// check follows synctest.Wait, when every tick due was handled.
func TestWatchdog(t *testing.T) {
	conn := notifyConn(t)
	t.Setenv("WATCHDOG_USEC", "100000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		alive, asked := true, 0
		isAlive := func() bool {
			mu.Lock()
			defer mu.Unlock()
			asked++
			return alive
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			Watchdog(ctx, slog.New(slog.DiscardHandler), isAlive)
			close(done)
		}()
		time.Sleep(175 * time.Millisecond) // virtual: ticks at 50, 100 and 150 ms
		synctest.Wait()
		got := received(t, conn)
		if len(got) != 3 {
			t.Fatalf("systemd got %q in 175 ms, want 3 pings at half of WatchdogSec=100ms", got)
		}
		for _, s := range got {
			if !strings.Contains(s, "WATCHDOG=1") {
				t.Fatalf("systemd got %q", s)
			}
		}
		mu.Lock()
		alive, asked = false, 0
		mu.Unlock()
		time.Sleep(200 * time.Millisecond) // virtual: four more ticks
		synctest.Wait()
		mu.Lock()
		n := asked
		mu.Unlock()
		if n != 4 {
			t.Errorf("the work loop was asked %d times in 200 ms, want 4", n)
		}
		if got := received(t, conn); len(got) > 0 {
			t.Errorf("pinged %q while the loop is stuck", got)
		}
		cancel()
		<-done
	})
}
