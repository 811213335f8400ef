package haproxytest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pollEvery is how often WaitFor and Poll test their condition: often
// enough that a test waits little past its event, seldom enough that
// the polling does not load a busy machine.
const pollEvery = 20 * time.Millisecond

// WaitFor is how a test against a real process waits: for an event (a
// line in carbon, a file, a log line, a counter), never for a length of
// time. It tests ok until it holds; when timeout passes first it fails t
// with what it was waiting for and, when log is not nil, the log. A
// timeout only bounds a failing test: choose it generous, since a busy
// machine makes every event late but must not make a test fail.
func WaitFor(t testing.TB, what string, timeout time.Duration, log fmt.Stringer, ok func() bool) {
	t.Helper()
	if !Poll(timeout, ok) {
		if log == nil {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		t.Fatalf("%s: not within %v; log:\n%s", what, timeout, log)
	}
}

// Poll tests ok until it holds or timeout passes, and says whether it
// held: WaitFor for a test that goes on when the event did not come.
func Poll(timeout time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			return ok()
		}
		time.Sleep(pollEvery)
	}
	return true
}

// LogFile is a log a daemon writes to a file, as WaitFor shows it.
type LogFile string

// String returns the file's last 4 KiB, or why it cannot be read.
func (f LogFile) String() string {
	b, err := os.ReadFile(string(f))
	if err != nil {
		return err.Error()
	}
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

// OpenIn returns the descriptors this process holds on files under dir:
// what a test checks to see that files were let go (or closes to make
// their reads fail).
func OpenIn(t testing.TB, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var fds []int
	for _, e := range entries {
		target, err := os.Readlink("/proc/self/fd/" + e.Name()) // pathcheck: the test's own descriptors
		if err == nil && strings.HasPrefix(target, dir+"/") {
			fd, _ := strconv.Atoi(e.Name())
			fds = append(fds, fd)
		}
	}
	return fds
}
