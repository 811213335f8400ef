package config

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// decoder reads typed options from a File and collects every problem it
// finds, each once, as a one-line error.
type decoder struct {
	f    *File
	errs []error
	seen map[string]bool
}

func newDecoder(f *File) *decoder {
	return &decoder{f: f, seen: make(map[string]bool)}
}

// err joins the problems found so far, or returns nil.
func (d *decoder) err() error { return errors.Join(d.errs...) }

// fail records msg unless it was recorded already (an option inherited
// from DEFAULT is read through several sections but reported once).
func (d *decoder) fail(msg string) {
	if !d.seen[msg] {
		d.seen[msg] = true
		d.errs = append(d.errs, errors.New(msg))
	}
}

// failf records an error about option opt of section sect in the
// original's format.
func (d *decoder) failf(sect, opt, format string, args ...any) {
	d.fail(fmt.Sprintf("invalid configuration, section:'%s' option:'%s' error:", sect, opt) + fmt.Sprintf(format, args...))
}

// str returns the interpolated value of opt in sect (or DEFAULT) and the
// section the raw value came from. ok is false if the option is not set
// or cannot be interpolated; the latter is recorded.
func (d *decoder) str(sect, opt string) (v string, ok bool) {
	v, _, ok = d.value(sect, opt)
	return v, ok
}

func (d *decoder) value(sect, opt string) (v, from string, ok bool) {
	_, from, ok = d.f.raw(sect, opt)
	if !ok {
		return "", "", false
	}
	v, err := d.f.get(sect, opt)
	if err != nil {
		var ie *interpError
		if errors.As(err, &ie) && ie.named {
			d.fail("invalid configuration, error:" + ie.msg)
		} else {
			d.failf(from, opt, "%v", err)
		}
		return "", from, false
	}
	return v, from, true
}

// check is a range rule: it returns "" when n is acceptable, else the
// reason, such as "must be at least 1".
type check[T any] func(T) string

func atLeast[T int | float64](min T) check[T] {
	return func(n T) string {
		if n < min {
			return fmt.Sprintf("must be at least %v", min)
		}
		return ""
	}
}

func between(lo, hi int) check[int] {
	return func(n int) string {
		if n < lo || n > hi {
			return fmt.Sprintf("must be between %d and %d", lo, hi)
		}
		return ""
	}
}

func retries(n int) string {
	if n < -1 {
		return "must be -1 (retry forever) or more"
	}
	return ""
}

func positive(f float64) string {
	if !(f > 0) {
		return "must be greater than 0"
	}
	return ""
}

func nonNegative(f float64) string {
	if f < 0 {
		return "must not be negative"
	}
	return ""
}

func anyFloat(float64) string { return "" }

// int reads an integer option (Python int()) and applies the checks. ok
// is false if the option is unset or invalid; invalid is recorded.
func (d *decoder) int(sect, opt string, checks ...check[int]) (int, bool) {
	v, from, ok := d.value(sect, opt)
	if !ok {
		return 0, false
	}
	n, err := parseInt(v)
	if err != nil {
		d.failf(from, opt, "%v", err)
		return 0, false
	}
	for _, c := range checks {
		if why := c(n); why != "" {
			d.failf(from, opt, "%s, got %s", why, pyRepr(v))
			return 0, false
		}
	}
	return n, true
}

// float reads a finite float option (Python float()) and applies c.
func (d *decoder) float(sect, opt string, c check[float64]) (float64, bool) {
	v, from, ok := d.value(sect, opt)
	if !ok {
		return 0, false
	}
	f, err := parseFloat(v)
	if err != nil {
		d.failf(from, opt, "%v", err)
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		d.failf(from, opt, "must be a finite number, got %s", pyRepr(v))
		return 0, false
	}
	if why := c(f); why != "" {
		d.failf(from, opt, "%s, got %s", why, pyRepr(v))
		return 0, false
	}
	return f, true
}

// duration reads a float option given in seconds and applies c.
func (d *decoder) duration(sect, opt string, c check[float64]) (time.Duration, bool) {
	f, ok := d.float(sect, opt, c)
	if !ok {
		return 0, false
	}
	t, ok := seconds(f)
	if !ok {
		v, from, _ := d.value(sect, opt)
		d.failf(from, opt, "too many seconds, got %s", pyRepr(v))
	} else if f > 0 && t == 0 {
		// 1e-300 is more than 0 to the range check, and 0 s as a
		// duration: the very value it rules out.
		v, from, _ := d.value(sect, opt)
		d.failf(from, opt, "must be at least one nanosecond, got %s", pyRepr(v))
		return 0, false
	}
	return t, ok
}

// bool reads a ConfigParser boolean option.
func (d *decoder) bool(sect, opt string) (bool, bool) {
	v, from, ok := d.value(sect, opt)
	if !ok {
		return false, false
	}
	b, err := parseBool(v)
	if err != nil {
		d.failf(from, opt, "%v", err)
		return false, false
	}
	return b, true
}

// logLevel reads and checks the loglevel of sect; it returns the name
// lower-cased.
func (d *decoder) logLevel(sect string) string {
	v, from, ok := d.value(sect, "loglevel")
	if !ok {
		return ""
	}
	if _, ok := logLevels[lower(v)]; !ok {
		d.fail(fmt.Sprintf("invalid configuration, section:'%s' option:'loglevel' error: invalid loglevel %s", from, pyRepr(v)))
		return ""
	}
	return lower(v)
}

// logFormat reads log-format in sect (or [DEFAULT]): text, the default,
// or json. New in the Go version, so not a built-in default: -p shows
// the original's options only.
func (d *decoder) logFormat(sect string) string {
	v, from, ok := d.value(sect, "log-format")
	if !ok {
		return "text"
	}
	switch lower(v) {
	case "text", "json":
		return lower(v)
	}
	d.failf(from, "log-format", "must be text or json, got %s", pyRepr(v))
	return "text"
}

// nonEmpty reads a string option that, when set, must not be empty.
func (d *decoder) nonEmpty(sect, opt string) (string, bool) {
	v, from, ok := d.value(sect, opt)
	if ok && v == "" {
		d.fail(fmt.Sprintf("invalid configuration, no value for option '%s' in the section '%s'", opt, from))
		return "", false
	}
	return v, ok
}
