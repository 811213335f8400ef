package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// DefaultSection is the section whose options every other section
// inherits unless it sets them itself.
const DefaultSection = "DEFAULT"

// Errors wrapped by a *ParseError, for errors.Is.
var (
	// ErrSyntax: a line that is neither a section header, an option, a
	// comment nor a continuation line.
	ErrSyntax = errors.New("syntax error")
	// ErrNoSectionHeader: an option before the first section header.
	ErrNoSectionHeader = errors.New("file contains no section headers")
	// ErrDuplicateSection: the same section twice in one file.
	ErrDuplicateSection = errors.New("duplicate section")
	// ErrDuplicateOption: the same option twice in one section of one
	// file (option names compare case-insensitively).
	ErrDuplicateOption = errors.New("duplicate option")
)

// ParseError is a problem at one line of a configuration file.
type ParseError struct {
	File string // the file name as given to Load
	Line int    // 1-based
	Err  error  // wraps one of ErrSyntax, ErrNoSectionHeader, ErrDuplicateSection, ErrDuplicateOption
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

// Unwrap returns e.Err.
func (e *ParseError) Unwrap() error { return e.Err }

// File is the layered, uninterpolated configuration: the built-in
// defaults with every file read by Load on top. It is not modified after
// Load returns, so its methods may be called concurrently.
type File struct {
	defaults *section
	sections map[string]*section // every section but DEFAULT
}

// section is one INI section: its options in order of first appearance
// (the order that matters for the *-groups sections), with their raw,
// uninterpolated values.
type section struct {
	name string
	keys []string
	vals map[string]string
}

func newSection(name string) *section {
	return &section{name: name, vals: make(map[string]string)}
}

func (s *section) set(key, value string) {
	if _, ok := s.vals[key]; !ok {
		s.keys = append(s.keys, key)
	}
	s.vals[key] = value
}

// Load reads the built-in defaults, then file, then every regular file
// matching dir/*.conf (not hidden), in sorted name order; later values
// override earlier ones. file "" means no file and dir "" no directory.
// If file does not exist and mustExist is false, the defaults are used,
// as the original does for its default /etc/haproxystats.conf; when the
// user names the file explicitly (-f), mustExist is true and a missing
// file is an error. Syntax errors of all files are reported together,
// each as a *ParseError.
func Load(file string, mustExist bool, dir string) (*File, error) {
	f := builtinFile()
	var errs []error
	if file != "" {
		data, err := os.ReadFile(file)
		switch {
		case err == nil:
			if err := f.parse(file, data); err != nil {
				errs = append(errs, err)
			}
		case errors.Is(err, fs.ErrNotExist) && !mustExist:
		default:
			return nil, fmt.Errorf("read configuration: %w", err)
		}
	}
	if dir != "" {
		files, err := confFiles(dir)
		if err != nil {
			return nil, err
		}
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				return nil, fmt.Errorf("read configuration: %w", err)
			}
			if err := f.parse(name, data); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	f.addDefaults(KafkaSection, kafkaBuiltin)
	f.addDefaults(PrometheusSection, prometheusBuiltin)
	f.addDefaults(LogsSection, logsBuiltin)
	return f, nil
}

// confFiles lists dir/*.conf in sorted order, without hidden files (a
// shell glob skips them) and without directories.
func confFiles(dir string) ([]string, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s directory with .conf files doesn't exist", dir)
	}
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, fmt.Errorf("read configuration directory: %w", err)
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".conf") || strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, name)
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			continue
		}
		files = append(files, path)
	}
	return files, nil
}

// parse reads one file with the rules of Python's ConfigParser and, if it
// has no errors, merges it into f.
func (f *File) parse(name string, data []byte) error {
	p := parser{file: name, sections: map[string]*section{}, seenSection: map[string]int{}, seenOption: map[[2]string]int{}}
	p.run(data)
	if len(p.errs) > 0 {
		return errors.Join(p.errs...)
	}
	for _, s := range p.order {
		dst := f.defaults
		if s.name != DefaultSection {
			dst = f.sections[s.name]
			if dst == nil {
				dst = newSection(s.name)
				f.sections[s.name] = dst
			}
		}
		for _, k := range s.keys {
			dst.set(k, s.vals[k])
		}
	}
	return nil
}

// parser holds the state of ConfigParser._read for one file.
type parser struct {
	file        string
	order       []*section // sections in order of first appearance
	sections    map[string]*section
	seenSection map[string]int    // section → line of its header
	seenOption  map[[2]string]int // (section, option) → line
	errs        []error

	cur    *section
	opt    string   // option that continuation lines extend; "" for none
	lines  []string // the value lines of opt
	indent int      // indentation of the line that started opt
	noHead bool     // the missing-header error was reported
}

func (p *parser) fail(line int, err error) {
	p.errs = append(p.errs, &ParseError{File: p.file, Line: line, Err: err})
}

func (p *parser) run(data []byte) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	for i, line := range splitLines(string(data)) {
		p.line(i+1, line)
	}
	p.flush()
}

// line handles one line, without its terminator.
func (p *parser) line(n int, line string) {
	if !utf8.ValidString(line) {
		p.fail(n, fmt.Errorf("%w: invalid UTF-8: %s", ErrSyntax, pyRepr(line)))
		return
	}
	value := pyStrip(line)
	if strings.HasPrefix(value, "#") || strings.HasPrefix(value, ";") {
		return // comments are skipped, even inside a multi-line value
	}
	if value == "" {
		if p.opt != "" {
			p.lines = append(p.lines, "") // kept inside a multi-line value
		}
		return
	}
	indent := 0
	for _, r := range line {
		if !pyIsSpace(r) {
			break
		}
		indent++
	}
	if p.cur != nil && p.opt != "" && indent > p.indent {
		p.lines = append(p.lines, value)
		return
	}
	p.indent = indent
	if name, ok := sectionHeader(value); ok {
		p.flush()
		p.opt = ""
		p.header(n, name)
		return
	}
	if p.cur == nil {
		if !p.noHead {
			p.noHead = true
			p.fail(n, fmt.Errorf("%w: %s", ErrNoSectionHeader, pyRepr(line)))
		}
		return
	}
	i := strings.IndexAny(value, "=:")
	if i < 0 {
		// Like ConfigParser, the option being read stays open.
		p.fail(n, fmt.Errorf("%w: expected [section], key = value or key: value, got %s", ErrSyntax, pyRepr(line)))
		return
	}
	p.flush()
	key := strings.ToLower(pyRstrip(value[:i]))
	if key == "" {
		p.fail(n, fmt.Errorf("%w: option without a name: %s", ErrSyntax, pyRepr(line)))
		return
	}
	id := [2]string{p.cur.name, key}
	if first, dup := p.seenOption[id]; dup {
		p.fail(n, fmt.Errorf("%w %s in section %s (first at line %d)", ErrDuplicateOption, pyRepr(key), pyRepr(p.cur.name), first))
	} else {
		p.seenOption[id] = n
	}
	p.opt = key
	p.lines = []string{pyStrip(value[i+1:])}
}

// header starts section name. [DEFAULT] may repeat within a file, as in
// ConfigParser; other sections may not.
func (p *parser) header(n int, name string) {
	if name != DefaultSection {
		if first, dup := p.seenSection[name]; dup {
			p.fail(n, fmt.Errorf("%w %s (first at line %d)", ErrDuplicateSection, pyRepr(name), first))
		} else {
			p.seenSection[name] = n
		}
	}
	s := p.sections[name]
	if s == nil {
		s = newSection(name)
		p.sections[name] = s
		p.order = append(p.order, s)
	}
	p.cur = s
}

// flush stores the option being read: its lines joined with newlines,
// trailing whitespace (and so trailing blank lines) removed.
func (p *parser) flush() {
	if p.opt != "" {
		p.cur.set(p.opt, pyRstrip(strings.Join(p.lines, "\n")))
	}
	p.opt, p.lines = "", nil
}

// sectionHeader matches ConfigParser's `\[(?P<header>.+)\]` against a
// stripped line: the name runs to the last ']' and must not be empty;
// text after that ']' is ignored.
func sectionHeader(value string) (string, bool) {
	if !strings.HasPrefix(value, "[") {
		return "", false
	}
	end := strings.LastIndexByte(value, ']')
	if end < 2 {
		return "", false
	}
	return value[1:end], true
}

// splitLines splits s at "\n", "\r\n" and "\r", as Python's text files
// with universal newlines do. A final line without terminator counts.
func splitLines(s string) []string {
	var lines []string
	for s != "" {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i])
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
	return lines
}

// addDefaults fills in the built-in defaults of an optional section
// (builtin) for the options the files left unset, if the section exists.
func (f *File) addDefaults(section string, builtin map[string]string) {
	s := f.sections[section]
	if s == nil {
		return
	}
	for _, k := range sortedKeys(builtin) {
		if _, ok := s.vals[k]; !ok {
			s.set(k, builtin[k])
		}
	}
}
