package config

import (
	"errors"
	"fmt"
	"strings"
)

// maxDepth is Python's MAX_INTERPOLATION_DEPTH.
const maxDepth = 10

// maxValueLen bounds an interpolated value, so that a few lines of
// nested references cannot expand to gigabytes (ten levels of ten
// references each would be 10¹⁰ copies).
const maxValueLen = 1 << 20

// interpError is an interpolation failure with the text of Python's
// ExtendedInterpolation. named is set when the text itself names the
// section and option (the original then prints it without them).
type interpError struct {
	msg   string
	named bool
}

func (e *interpError) Error() string { return e.msg }

// raw returns the uninterpolated value of option opt in section sect, or
// in DEFAULT when sect does not set it, and the section it came from.
// sect may be DEFAULT; a section that does not exist has no options.
func (f *File) raw(sect, opt string) (value, from string, ok bool) {
	if sect != DefaultSection {
		s := f.sections[sect]
		if s == nil {
			return "", "", false
		}
		if v, ok := s.vals[opt]; ok {
			return v, sect, true
		}
	}
	v, ok := f.defaults.vals[opt]
	return v, DefaultSection, ok
}

// has reports whether option opt is set in section sect or in DEFAULT.
func (f *File) has(sect, opt string) bool {
	_, _, ok := f.raw(sect, opt)
	return ok
}

// get returns the interpolated value of an option that exists, with the
// rules of Python's ExtendedInterpolation: ${option} from the same
// section (or DEFAULT), ${section:option} from another, $$ for '$',
// recursively up to maxDepth levels.
func (f *File) get(sect, opt string) (string, error) {
	v, _, _ := f.raw(sect, opt)
	if !strings.Contains(v, "$") {
		return v, nil
	}
	var b strings.Builder
	if err := f.interpolate(&b, sect, opt, v, 1); err == errTooLong {
		return "", &interpError{named: true, msg: fmt.Sprintf(
			"value of option %s in section %s is longer than %d bytes after interpolation. Raw value: %s",
			pyRepr(opt), pyRepr(sect), maxValueLen, pyRepr(v))}
	} else if err != nil {
		return "", err
	}
	return b.String(), nil
}

// errTooLong ends an interpolation past maxValueLen.
var errTooLong = errors.New("value too long after interpolation")

// interpolate is ExtendedInterpolation._interpolate_some: it appends the
// expansion of rest, the raw value of opt in sect, to b.
func (f *File) interpolate(b *strings.Builder, sect, opt, rest string, depth int) error {
	rawval, _, ok := f.raw(sect, opt)
	if !ok {
		rawval = rest
	}
	if depth > maxDepth {
		return &interpError{named: true, msg: fmt.Sprintf(
			"Recursion limit exceeded in value substitution: option %s in section %s contains an interpolation key which cannot be substituted in %d steps. Raw value: %s",
			pyRepr(opt), pyRepr(sect), maxDepth, pyRepr(rawval))}
	}
	for rest != "" {
		if b.Len() > maxValueLen {
			return errTooLong // named by get: the option asked for, not the one it refers to
		}
		p := strings.IndexByte(rest, '$')
		if p < 0 {
			b.WriteString(rest)
			return nil
		}
		b.WriteString(rest[:p])
		rest = rest[p:]
		switch {
		case strings.HasPrefix(rest, "$$"):
			b.WriteByte('$')
			rest = rest[2:]
		case strings.HasPrefix(rest, "${"):
			end := strings.IndexByte(rest, '}')
			if end < 3 { // `\$\{([^}]+)\}` needs one character inside
				return &interpError{msg: "bad interpolation variable reference " + pyRepr(rest)}
			}
			ref := rest[2:end]
			rest = rest[end+1:]
			path := strings.Split(ref, ":")
			s, o := sect, opt
			var v string
			var found bool
			switch len(path) {
			case 1:
				o = strings.ToLower(path[0])
				v, _, found = f.raw(sect, o)
			case 2:
				s, o = path[0], strings.ToLower(path[1])
				v, _, found = f.raw(s, o)
			default:
				return &interpError{msg: "More than one ':' found: " + pyRepr(rest)}
			}
			if !found {
				return &interpError{named: true, msg: fmt.Sprintf(
					"Bad value substitution: option %s in section %s contains an interpolation key %s which is not a valid option name. Raw value: %s",
					pyRepr(opt), pyRepr(sect), pyRepr(strings.Join(path, ":")), pyRepr(rawval))}
			}
			if strings.Contains(v, "$") {
				if err := f.interpolate(b, s, o, v, depth+1); err != nil {
					return err
				}
			} else {
				b.WriteString(v)
			}
		default:
			return &interpError{msg: "'$' must be followed by '$' or '{', found: " + pyRepr(rest)}
		}
	}
	return nil
}
