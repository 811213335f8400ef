package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// writeConf writes conf to name in dir and returns its path.
func writeConf(t testing.TB, dir, name, conf string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// load loads conf as the -f file and fails the test on error.
func load(t testing.TB, conf string) *File {
	t.Helper()
	f, err := Load(writeConf(t, t.TempDir(), "haproxystats.conf", conf), true, "")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return f
}

// mustGet returns the interpolated value of sect/opt.
func mustGet(t *testing.T, f *File, sect, opt string) string {
	t.Helper()
	if !f.has(sect, opt) {
		t.Fatalf("[%s] %s is not set", sect, opt)
	}
	v, err := f.get(sect, opt)
	if err != nil {
		t.Fatalf("[%s] %s: %v", sect, opt, err)
	}
	return v
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, conf   string
		sect, opt    string
		want         string
		wantNotExist bool
	}{
		{"equals", "[x]\na = 1\n", "x", "a", "1", false},
		{"colon", "[x]\na: 1\n", "x", "a", "1", false},
		{"first delimiter wins", "[x]\na: b = c\n", "x", "a", "b = c", false},
		{"key lower-cased", "[x]\nPull-Timeout = 3\n", "x", "pull-timeout", "3", false},
		{"whitespace stripped", "[x]\n  a   =   spaced value  \t\n", "x", "a", "spaced value", false},
		{"empty value", "[x]\na =\n", "x", "a", "", false},
		{"no inline comments", "[x]\na = 10 # ten\nb = 1 ; one\n", "x", "a", "10 # ten", false},
		{"full-line comments", "[x]\n# a = 1\n  ; a = 2\na = 3\n", "x", "a", "3", false},
		{"continuation", "[x]\na = one\n  two\n\tthree\nb = 2\n", "x", "a", "one\ntwo\nthree", false},
		{"blank line kept inside value", "[x]\na = one\n\n  two\n", "x", "a", "one\n\ntwo", false},
		{"trailing blank lines dropped", "[x]\na = one\n  two\n\n\n[y]\n", "x", "a", "one\ntwo", false},
		{"comment inside value skipped", "[x]\na = one\n  # no\n  two\n", "x", "a", "one\ntwo", false},
		{"continuation needs more indent", "[x]\n  a = one\n  b = two\n", "x", "b", "two", false},
		{"indented header is a continuation", "[x]\na = one\n  [y]\n", "x", "a", "one\n[y]", false},
		{"sections are case-sensitive", "[Pull]\nworkers = 3\n", "pull", "workers", "8", false},
		{"text after header ignored", "[x] trailing\na = 1\n", "x", "a", "1", false},
		{"header to last bracket", "[a]b]\nc = 1\n", "a]b", "c", "1", false},
		{"CRLF", "[x]\r\na = 1\r\nb = 2\r\n", "x", "b", "2", false},
		{"CR", "[x]\ra = 1\rb = 2\r", "x", "b", "2", false},
		{"BOM", "\ufeff[x]\na = 1\n", "x", "a", "1", false},
		{"no final newline", "[x]\na = 1", "x", "a", "1", false},
		{"DEFAULT may repeat", "[DEFAULT]\na = 1\n[DEFAULT]\nb = 2\n", DefaultSection, "b", "2", false},
		{"section reopened across DEFAULT", "[x]\na = 1\n[DEFAULT]\nb = 2\n", "x", "b", "2", false},
		{"built-in kept", "[pull]\nworkers = 3\n", "pull", "queue-size", "360", false},
		{"file overrides built-in", "[pull]\nqueue-size = 3\n", "pull", "queue-size", "3", false},
		{"unset", "[x]\na = 1\n", "x", "b", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := load(t, tt.conf)
			if tt.wantNotExist {
				if f.has(tt.sect, tt.opt) {
					t.Fatalf("[%s] %s is set", tt.sect, tt.opt)
				}
				return
			}
			if got := mustGet(t, f, tt.sect, tt.opt); got != tt.want {
				t.Errorf("[%s] %s = %q, want %q", tt.sect, tt.opt, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, conf string
		is         error
		line       int
		want       string // the message after "file:line: "
	}{
		{"no section header", "# c\na = 1\n[x]\n", ErrNoSectionHeader, 2, "file contains no section headers: 'a = 1'"},
		{"no delimiter", "[x]\na = 1\njunk\n", ErrSyntax, 3, "syntax error: expected [section], key = value or key: value, got 'junk'"},
		{"empty header", "[x]\n[]\n", ErrSyntax, 2, "syntax error: expected [section], key = value or key: value, got '[]'"},
		{"option without name", "[x]\n = 1\n", ErrSyntax, 2, "syntax error: option without a name: ' = 1'"},
		{"duplicate section", "[x]\na = 1\n[y]\n[x]\n", ErrDuplicateSection, 4, "duplicate section 'x' (first at line 1)"},
		{"duplicate option", "[x]\na = 1\nb = 2\nA = 3\n", ErrDuplicateOption, 4, "duplicate option 'a' in section 'x' (first at line 2)"},
		{"duplicate option in DEFAULT", "[DEFAULT]\na = 1\n[DEFAULT]\na = 2\n", ErrDuplicateOption, 4, "duplicate option 'a' in section 'DEFAULT' (first at line 2)"},
		{"invalid UTF-8", "[x]\na = \xff\n", ErrSyntax, 2, `syntax error: invalid UTF-8: 'a = \xff'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConf(t, t.TempDir(), "h.conf", tt.conf)
			_, err := Load(path, true, "")
			if !errors.Is(err, tt.is) {
				t.Fatalf("Load error %v, want %v", err, tt.is)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Load error %T is not a *ParseError", err)
			}
			if pe.File != path || pe.Line != tt.line {
				t.Errorf("error at %s:%d, want %s:%d", pe.File, pe.Line, path, tt.line)
			}
			if want := path + ":" + strconv.Itoa(tt.line) + ": " + tt.want; err.Error() != want {
				t.Errorf("error:\n got %s\nwant %s", err, want)
			}
		})
	}
}

func TestParseErrorsAllReported(t *testing.T) {
	path := writeConf(t, t.TempDir(), "h.conf", "[x]\nbad\n[x]\nok = 1\nalso bad\n")
	_, err := Load(path, true, "")
	got := strings.Split(err.Error(), "\n")
	want := []string{
		path + ":2: syntax error: expected [section], key = value or key: value, got 'bad'",
		path + ":3: duplicate section 'x' (first at line 1)",
		path + ":5: syntax error: expected [section], key = value or key: value, got 'also bad'",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}

func TestDefaultSection(t *testing.T) {
	f := load(t, "[DEFAULT]\nloglevel = debug\nretries = 7\nextra = e\n[pull]\n[x]\nextra = own\n")
	f2 := func(sect, opt, want string) {
		t.Helper()
		if got := mustGet(t, f, sect, opt); got != want {
			t.Errorf("[%s] %s = %q, want %q", sect, opt, got, want)
		}
	}
	f2("pull", "loglevel", "debug") // inherited
	f2("pull", "retries", "1")      // the built-in [pull] retries shadows DEFAULT
	f2("process", "retries", "7")   // no built-in there
	f2("graphite", "timeout", "1")  // DEFAULT's built-in timeout
	f2("pull", "extra", "e")        // user DEFAULT keys too
	f2("x", "extra", "own")         // a section's own value wins
	f2(DefaultSection, "loglevel", "debug")
}

// pathcheck: values only, interpolated values compared as strings.
func TestInterpolation(t *testing.T) {
	const conf = `[DEFAULT]
root = /srv
[paths]
base-dir = ${root}/hs
[pull]
dst-dir = ${paths:base-dir}/incoming
tmp-dst-dir = ${dst-dir}.tmp
money = 5$$
regex = ^www$$
lone = ^www$
dollar-x = a$x
missing = ${nope}
missing-section = ${nosuch:x}
missing-option = ${paths:nope}
default-ref = ${DEFAULT:root}/x
case = ${PATHS:base-dir}
upper-key = ${paths:BASE-DIR}
three = ${a:b:c}
empty-ref = ${}
unclosed = ${root
loop = ${loop}
a1 = ${a2}
a2 = ${a3}
a3 = ${a4}
a4 = ${a5}
a5 = ${a6}
a6 = ${a7}
a7 = ${a8}
a8 = ${a9}
a9 = ${a10}
a10 = end$$
a0 = ${a1}
b0 = ${b1}
b1 = ${b2}
b2 = ${b3}
b3 = ${b4}
b4 = ${b5}
b5 = ${b6}
b6 = ${b7}
b7 = ${b8}
b8 = ${b9}
b9 = ${b10}
b10 = ${b11}
b11 = end$$
nested-dollar = ${money}!
`
	f := load(t, conf)
	tests := []struct {
		opt, want, err string
	}{
		{"dst-dir", "/srv/hs/incoming", ""},
		{"tmp-dst-dir", "/srv/hs/incoming.tmp", ""},
		{"money", "5$", ""},
		{"regex", "^www$", ""},
		{"nested-dollar", "5$!", ""},
		{"default-ref", "/srv/x", ""},
		{"upper-key", "/srv/hs", ""},
		{"a1", "end$", ""}, // ten levels: a1 … a10
		{"lone", "", `'$' must be followed by '$' or '{', found: '$'`},
		{"dollar-x", "", `'$' must be followed by '$' or '{', found: '$x'`},
		{"missing", "", `Bad value substitution: option 'missing' in section 'pull' contains an interpolation key 'nope' which is not a valid option name. Raw value: '${nope}'`},
		{"missing-section", "", `Bad value substitution: option 'missing-section' in section 'pull' contains an interpolation key 'nosuch:x' which is not a valid option name. Raw value: '${nosuch:x}'`},
		{"missing-option", "", `Bad value substitution: option 'missing-option' in section 'pull' contains an interpolation key 'paths:nope' which is not a valid option name. Raw value: '${paths:nope}'`},
		{"case", "", `Bad value substitution: option 'case' in section 'pull' contains an interpolation key 'PATHS:base-dir' which is not a valid option name. Raw value: '${PATHS:base-dir}'`},
		{"three", "", `More than one ':' found: ''`},
		{"empty-ref", "", `bad interpolation variable reference '${}'`},
		{"unclosed", "", `bad interpolation variable reference '${root'`},
		{"loop", "", `Recursion limit exceeded in value substitution: option 'loop' in section 'pull' contains an interpolation key which cannot be substituted in 10 steps. Raw value: '${loop}'`},
		{"a0", "", `Recursion limit exceeded in value substitution: option 'a10' in section 'pull' contains an interpolation key which cannot be substituted in 10 steps. Raw value: 'end$$'`},
		{"b0", "", `Recursion limit exceeded in value substitution: option 'b10' in section 'pull' contains an interpolation key which cannot be substituted in 10 steps. Raw value: '${b11}'`},
	}
	for _, tt := range tests {
		t.Run(tt.opt, func(t *testing.T) {
			got, err := f.get("pull", tt.opt)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("get = %q, %v; want error\n%s", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("get = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestInterpolationBlowUp(t *testing.T) {
	var b strings.Builder
	b.WriteString("[x]\nv0 = " + strings.Repeat("0123456789", 10) + "\n")
	for i := 1; i <= 9; i++ {
		b.WriteString("v" + string(rune('0'+i)) + " = " + strings.Repeat("${v"+string(rune('0'+i-1))+"}", 10) + "\n")
	}
	f := load(t, b.String())
	// The error names the option asked for, not one it refers to.
	if _, err := f.get("x", "v9"); err == nil || !strings.HasPrefix(err.Error(), "value of option 'v9' in section 'x' is longer than") {
		t.Fatalf("get = %v, want a too-long error naming v9", err)
	}
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	main := writeConf(t, dir, "main.conf", "[process]\nworkers = 1\nsrc-dir = /main\n[graphite]\nport = 1\n")
	confd := filepath.Join(dir, "conf.d")
	if err := os.Mkdir(confd, 0o755); err != nil {
		t.Fatal(err)
	}
	writeConf(t, confd, "20-b.conf", "[process]\nworkers = 3\n")
	writeConf(t, confd, "10-a.conf", "[process]\nworkers = 2\nsrc-dir = /a\n[graphite]\nport = 2\n")
	writeConf(t, confd, "30-c.conf", "[graphite]\nport = 3\n")
	writeConf(t, confd, "99-ignored.txt", "[graphite]\nport = 9\n")
	writeConf(t, confd, ".hidden.conf", "[graphite]\nport = 9\n")
	if err := os.Mkdir(filepath.Join(confd, "dir.conf"), 0o755); err != nil {
		t.Fatal(err)
	}

	f, err := Load(main, true, confd)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ sect, opt, want string }{
		{"process", "workers", "3"}, // 10-a, then 20-b
		{"process", "src-dir", "/a"},
		{"graphite", "port", "3"},
	} {
		if got := mustGet(t, f, c.sect, c.opt); got != c.want {
			t.Errorf("[%s] %s = %q, want %q", c.sect, c.opt, got, c.want)
		}
	}

	t.Run("missing default file", func(t *testing.T) {
		f, err := Load(filepath.Join(dir, "none.conf"), false, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, f, "pull", "workers"); got != "8" {
			t.Errorf("workers = %q, want the built-in 8", got)
		}
	})
	t.Run("missing -f file", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "none.conf"), true, "")
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Load = %v, want a not-exist error", err)
		}
	})
	t.Run("-d not a directory", func(t *testing.T) {
		_, err := Load(main, true, main)
		if want := main + " directory with .conf files doesn't exist"; err == nil || err.Error() != want {
			t.Errorf("Load = %v, want %s", err, want)
		}
	})
	t.Run("duplicates across files are fine", func(t *testing.T) {
		d := t.TempDir()
		a := writeConf(t, t.TempDir(), "a.conf", "[pull]\nworkers = 1\n")
		writeConf(t, d, "b.conf", "[pull]\nworkers = 2\n")
		f, err := Load(a, true, d)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, f, "pull", "workers"); got != "2" {
			t.Errorf("workers = %q, want 2", got)
		}
	})
	t.Run("errors of every file", func(t *testing.T) {
		d := t.TempDir()
		a := writeConf(t, t.TempDir(), "a.conf", "junk\n")
		writeConf(t, d, "b.conf", "[x]\njunk\n")
		_, err := Load(a, true, d)
		if n := len(strings.Split(err.Error(), "\n")); n != 2 {
			t.Errorf("Load error %q, want 2 lines", err)
		}
	})
}
