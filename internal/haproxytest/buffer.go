package haproxytest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer safe for concurrent use: a daemon's log that
// a test reads while the daemon writes it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// WaitFor polls ok every 20 ms until it holds, and fails t with what and
// log when it does not within timeout.
func WaitFor(t testing.TB, what string, timeout time.Duration, log fmt.Stringer, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; log:\n%s", what, timeout, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
