package logrecv

import (
	"strings"
	"testing"
)

// TestParseAddress reads addresses and their errors.
// pathcheck: values only, addresses parsed, never bound.
func TestParseAddress(t *testing.T) {
	ok := func(in string, want Address) {
		t.Helper()
		got, err := ParseAddress(in)
		if err != nil || got != want {
			t.Errorf("ParseAddress(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if again, err := ParseAddress(got.String()); err != nil || again != got {
			t.Errorf("ParseAddress(%q.String() = %q) = %+v, %v", in, got.String(), again, err)
		}
	}
	ok("udp://127.0.0.1:5140", Address{"udp", "127.0.0.1:5140"})
	ok("udp://[::1]:5140", Address{"udp", "[::1]:5140"})
	ok("udp://[0:0::1]:5140", Address{"udp", "[::1]:5140"}) // one spelling
	ok("udp://:5140", Address{"udp", ":5140"})
	ok("udp://localhost:0", Address{"udp", "localhost:0"})
	ok("unixgram:///run/haproxystats/log.sock", Address{"unixgram", "/run/haproxystats/log.sock"})
	ok("unixgram:///run//haproxystats/./log.sock", Address{"unixgram", "/run/haproxystats/log.sock"})

	bad := func(in, says string) {
		t.Helper()
		_, err := ParseAddress(in)
		if err == nil || !strings.Contains(err.Error(), says) || !strings.Contains(err.Error(), in) {
			t.Errorf("ParseAddress(%q) = %v, want an error naming it and saying %q", in, err, says)
		}
	}
	bad("", "want udp://")
	bad("127.0.0.1:5140", "want udp://")
	bad("tcp://127.0.0.1:5140", `unknown scheme "tcp"`)
	bad("udp://127.0.0.1", "missing port")
	bad("udp://127.0.0.1:65536", "not a number from 0 to 65535")
	bad("udp://127.0.0.1:syslog", "not a number")
	bad("udp://::1:5140", "too many colons")
	bad("udp://a/b:5140", "neither an IP address nor a name")
	bad("unixgram://run/log.sock", "must be absolute")
	bad("unixgram:///run/", "not a file name")
	bad("unixgram:///"+strings.Repeat("x", 200), "longer than 107 bytes")
}

// TestParseList reads lists of addresses and their errors.
// pathcheck: values only, addresses parsed, never bound.
func TestParseList(t *testing.T) {
	got, err := ParseList(" udp://127.0.0.1:5140 ,unixgram:///run/log.sock,udp://[::1]:5140")
	want := []Address{{"udp", "127.0.0.1:5140"}, {"unixgram", "/run/log.sock"}, {"udp", "[::1]:5140"}}
	if err != nil || len(got) != len(want) {
		t.Fatalf("ParseList = %+v, %v; want %+v", got, err, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ParseList [%d] = %+v, want %+v", i, got[i], want[i])
		}
	}

	bad := func(in, says string) {
		t.Helper()
		_, err := ParseList(in)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("ParseList(%q) = %v, want an error saying %q", in, err, says)
		}
	}
	bad("", "no address")
	bad("  ", "no address")
	bad("udp://127.0.0.1:5140,", "empty address")
	bad("udp://127.0.0.1:5140,tcp://x:1", `"tcp://x:1"`)
	bad("udp://127.0.0.1:5140, udp://127.0.0.1:5140", `"udp://127.0.0.1:5140" given twice`)
	bad("udp://[::1]:5140,udp://[0::1]:5140", `"udp://[0::1]:5140" given twice (as "udp://[::1]:5140")`)
	bad("unixgram:///a/b,unixgram:///a//b", "given twice")
}
