package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file holds the few pieces of Python behaviour the original's
// configuration depends on: str.strip, repr, int(), float() and
// ConfigParser's booleans, with the same error texts.

// pyIsSpace reports whether Python's str.isspace holds for r.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pyStrip is Python's str.strip() without arguments.
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// pyRstrip is Python's str.rstrip() without arguments.
func pyRstrip(s string) string { return strings.TrimRightFunc(s, pyIsSpace) }

// pyRepr is Python's repr() of a str: quoted, with control and
// non-printable characters escaped, so the result is always one line.
// maxRepr is how much of a value pyRepr shows.
const maxRepr = 200

func pyRepr(s string) string {
	if len(s) > maxRepr {
		// Unlike Python: a 10 MB value is not echoed whole into a log.
		cut := s[:maxRepr]
		for !utf8.ValidString(cut) && len(cut) > maxRepr-utf8.UTFMax {
			cut = cut[:len(cut)-1]
		}
		return pyRepr(cut) + fmt.Sprintf("... (%d bytes)", len(s))
	}
	quote := '\''
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteRune(quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, `\x%02x`, s[i])
			i++
			continue
		}
		i += size
		switch {
		case r == quote || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r):
			switch {
			case r < 0x100:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r < 0x10000:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteRune(quote)
	return b.String()
}

var (
	pyIntRE   = regexp.MustCompile(`^[+-]?[0-9](?:_?[0-9])*$`)
	pyFloatRE = regexp.MustCompile(`^[+-]?(?:(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9](?:_?[0-9])*)?|(?i:inf|infinity|nan))$`)
)

// errOutOfRange is returned by parseInt for a well-formed integer that
// does not fit an int. (Python's integers have no such limit.)
var errOutOfRange = errors.New("out of range")

// parseInt is Python's int(s): optional surrounding whitespace, an
// optional sign, decimal digits with single '_' separators between them.
func parseInt(s string) (int, error) {
	t := pyStrip(s)
	if !pyIntRE.MatchString(t) {
		return 0, fmt.Errorf("invalid literal for int() with base 10: %s", pyRepr(s))
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(t, "_", ""), 10, 0)
	if err != nil {
		return 0, fmt.Errorf("%s is %w", pyRepr(s), errOutOfRange)
	}
	return int(n), nil
}

// parseFloat is Python's float(s): decimal numbers with an optional
// exponent and '_' separators, inf, infinity and nan in any case.
// Magnitudes beyond float64 become ±Inf, as in Python.
func parseFloat(s string) (float64, error) {
	t := pyStrip(s)
	if !pyFloatRE.MatchString(t) {
		return 0, fmt.Errorf("could not convert string to float: %s", pyRepr(s))
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		// Unreachable: the expression above admits only what ParseFloat
		// parses. Report it like any other bad float.
		return 0, fmt.Errorf("could not convert string to float: %s", pyRepr(s))
	}
	return f, nil
}

// parseBool is ConfigParser.getboolean.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "yes", "true", "on":
		return true, nil
	case "0", "no", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("Not a boolean: %s", oneLine(s)) // Python's text
}

// oneLine returns s unchanged unless it contains characters that would
// break a one-line message; then it returns pyRepr(s).
func oneLine(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return pyRepr(s)
		}
	}
	if !utf8.ValidString(s) {
		return pyRepr(s)
	}
	return s
}

// seconds converts a number of seconds to a Duration, rounded to the
// nearest nanosecond. It fails for NaN, infinities and magnitudes beyond
// what a Duration holds (about 292 years).
func seconds(f float64) (time.Duration, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	ns := math.Round(f * 1e9)
	if ns >= math.MaxInt64 || ns <= math.MinInt64 {
		return 0, false
	}
	return time.Duration(ns), true
}
