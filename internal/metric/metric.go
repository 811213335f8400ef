// Package metric holds the value every sink consumes, a Graphite datapoint,
// and the rules that build Graphite paths: the prefix and name sanitising.
//
// The line format follows the Graphite plaintext protocol,
// https://graphite.readthedocs.io/en/latest/feeding-carbon.html:
// "<path> <value> <timestamp>\n".
package metric

import (
	"math"
	"strconv"
	"strings"
)

// Metric is one datapoint. Time is the Unix second of the pull round that
// produced it: the name of the snapshot directory.
type Metric struct {
	Path  string
	Value float64
	Time  int64
}

// AppendLine appends m as a Graphite plaintext line, newline included.
// The value is written in decimal, without exponent, in the shortest form
// that parses back to the same float64; integral values have no ".0".
func (m Metric) AppendLine(b []byte) []byte {
	b = append(b, m.Path...)
	b = append(b, ' ')
	b = AppendValue(b, m.Value)
	b = append(b, ' ')
	b = strconv.AppendInt(b, m.Time, 10)
	return append(b, '\n')
}

// String returns the Graphite line of m without the trailing newline.
func (m Metric) String() string {
	b := m.AppendLine(nil)
	return string(b[:len(b)-1])
}

// AppendValue appends v in the line format's number form. NaN and
// infinities have no such form; callers never emit them (Valid).
func AppendValue(b []byte, v float64) []byte {
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// Valid reports whether v can be written as a Graphite value.
func Valid(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0)
}

// Sanitize makes a HAProxy proxy or server name one Graphite path
// component: every '.' becomes '_', as the original haproxystats did, so
// existing dashboards match, and so does every byte outside the set that
// HAProxy allows in names and Graphite in path components (ASCII letters,
// digits, '_', '-', ':'). A name HAProxy accepted is changed only in its
// dots; a reply from something else listening on a stats socket can put
// no whitespace, line break, control character, quote, backslash or
// invalid UTF-8 into a path, and so no line of its choosing into carbon.
func Sanitize(name string) string {
	for i := 0; i < len(name); i++ {
		if !pathByte(name[i]) {
			return string(AppendSanitized(make([]byte, 0, len(name)), []byte(name)))
		}
	}
	return name
}

// AppendSanitized appends name to dst as Sanitize gives it.
func AppendSanitized(dst, name []byte) []byte {
	for _, c := range name {
		if !pathByte(c) {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// pathByte reports whether c stands as it is in a path component.
func pathByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == ':'
}

// Prefix builds "<namespace>[.<host>].haproxy". With fqdn the whole host
// name is used with dots replaced by '_'; without it only the part before
// the first dot. The host name is used as the kernel reports it, never
// resolved.
func Prefix(namespace string, prefixHostname, fqdn bool, hostname string) string {
	parts := []string{namespace}
	if prefixHostname {
		if fqdn {
			parts = append(parts, Sanitize(hostname))
		} else {
			short, _, _ := strings.Cut(hostname, ".")
			parts = append(parts, short)
		}
	}
	return strings.Join(append(parts, "haproxy"), ".")
}
