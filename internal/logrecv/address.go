package logrecv

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// Address is one socket to receive log datagrams on.
type Address struct {
	Network string // "udp" or "unixgram"
	Addr    string // host:port for udp, an absolute path for unixgram
}

// String gives a in the form ParseAddress reads.
func (a Address) String() string {
	return a.Network + "://" + a.Addr // a path starts with a slash: unixgram:///PATH
}

// maxPath is the longest unix socket path: sun_path holds 108 bytes,
// the last of them the terminating NUL.
const maxPath = 107

// ParseAddress reads an address as HAProxy's log lines name the place
// they send to: "udp://HOST:PORT" (HOST an IP address, a name, or empty
// for every address; IPv6 in brackets) or "unixgram:///PATH" (an
// absolute path). Port 0 asks the kernel for a free port.
func ParseAddress(s string) (Address, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Address{}, fmt.Errorf("address %q: want udp://HOST:PORT or unixgram:///PATH", s)
	}
	switch scheme {
	case "udp":
		host, port, err := net.SplitHostPort(rest)
		if err != nil {
			return Address{}, fmt.Errorf("address %q: %w", s, err)
		}
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return Address{}, fmt.Errorf("address %q: port %q is not a number from 0 to 65535", s, port)
		}
		if ip := net.ParseIP(host); ip != nil {
			host = ip.String() // one spelling per address, so that duplicates are seen
		} else if host != "" && strings.ContainsAny(host, ":/%[] ") {
			return Address{}, fmt.Errorf("address %q: host %q is neither an IP address nor a name", s, host)
		}
		return Address{Network: "udp", Addr: net.JoinHostPort(host, strconv.FormatUint(p, 10))}, nil
	case "unixgram":
		if !strings.HasPrefix(rest, "/") {
			return Address{}, fmt.Errorf("address %q: the path must be absolute (unixgram:///PATH)", s)
		}
		if len(rest) > maxPath {
			return Address{}, fmt.Errorf("address %q: the path is longer than %d bytes, the most a unix socket name holds", s, maxPath)
		}
		if strings.IndexByte(rest, 0) >= 0 || strings.HasSuffix(rest, "/") {
			return Address{}, fmt.Errorf("address %q: not a file name", s)
		}
		return Address{Network: "unixgram", Addr: filepath.Clean(rest)}, nil
	default:
		return Address{}, fmt.Errorf("address %q: unknown scheme %q, want udp or unixgram", s, scheme)
	}
}

// ParseList reads comma-separated addresses (spaces around them are
// allowed), as the listen option of [logs] holds them. An empty list,
// an empty element or an address given twice is an error.
func ParseList(s string) ([]Address, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("no address: want udp://HOST:PORT or unixgram:///PATH, comma-separated")
	}
	var out []Address
	seen := make(map[Address]string)
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("empty address in %q", s)
		}
		a, err := ParseAddress(f)
		if err != nil {
			return nil, err
		}
		if prev, ok := seen[a]; ok {
			return nil, fmt.Errorf("address %q given twice (as %q)", f, prev)
		}
		seen[a] = f
		out = append(out, a)
	}
	return out, nil
}
