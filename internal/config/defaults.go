package config

import (
	"io"
	"sort"
	"strings"
	"time"
)

// builtin is the table of built-in defaults of the original, the
// sections and options its -p prints, loaded before any file. Values are stored, and printed by -p,
// exactly as the original stores them.
var builtin = map[string]map[string]string{
	DefaultSection: {
		"loglevel": "info",
		"retries":  "2",
		"timeout":  "1",
		"interval": "2",
	},
	"paths": {
		"base-dir": "/var/lib/haproxystats",
	},
	"pull": {
		"retries":       "1",
		"timeout":       "0.1",
		"interval":      "0.5",
		"pull-timeout":  "2",
		"pull-interval": "10",
		"buffer-limit":  "6291456",
		"dst-dir":       "/var/lib/haproxystats/incoming",
		"tmp-dst-dir":   "/var/lib/haproxystats/incoming.tmp",
		"workers":       "8",
		"queue-size":    "360",
	},
	"process": {
		"workers":                 "4",
		"src-dir":                 "/var/lib/haproxystats/incoming",
		"aggr-server-metrics":     "false",
		"per-process-metrics":     "false",
		"calculate-percentages":   "false",
		"liveness-check-interval": "10",
	},
	"graphite": {
		"server":          "127.0.0.1",
		"port":            "3002",
		"retries":         "3",
		"interval":        "1.8",
		"connect-timeout": "1.0",
		"write-timeout":   "1.0",
		"delay":           "10",
		"backoff":         "2",
		"namespace":       "loadbalancers",
		"prefix-hostname": "true",
		"fqdn":            "true",
		"queue-size":      "1000000",
	},
}

// builtinFile returns a File holding only the built-in defaults.
func builtinFile() *File {
	f := &File{sections: make(map[string]*section)}
	for _, name := range sortedKeys(builtin) {
		s := newSection(name)
		for _, k := range sortedKeys(builtin[name]) {
			s.set(k, builtin[name][k])
		}
		if name == DefaultSection {
			f.defaults = s
		} else {
			f.sections[name] = s
		}
	}
	return f
}

// Default returns the typed built-in defaults, what Config returns for a
// configuration without a file. No socket-dir or servers are set, so the
// Pull part alone does not pass validation.
func Default() *Config {
	return &Config{
		Paths: Paths{BaseDir: "/var/lib/haproxystats"},
		Pull: Pull{
			LogLevel:     "info",
			LogFormat:    "text",
			Retries:      1,
			Timeout:      100 * time.Millisecond,
			Interval:     500 * time.Millisecond,
			PullTimeout:  2 * time.Second,
			PullInterval: 10 * time.Second,
			BufferLimit:  6291456,
			DstDir:       "/var/lib/haproxystats/incoming",
			TmpDstDir:    "/var/lib/haproxystats/incoming.tmp",
			Workers:      8,
			QueueSize:    360,
			MaxReplySize: DefaultMaxReplySize,
			Ship:         "none",
		},
		Process: Process{
			LogLevel:              "info",
			LogFormat:             "text",
			Workers:               4,
			SrcDir:                "/var/lib/haproxystats/incoming",
			LivenessCheckInterval: 10 * time.Second,
			Source:                "spool",
			ReadyMaxAgeIntervals:  DefaultReadyMaxAgeIntervals,
			ReadyMaxQueue:         DefaultReadyMaxQueue,
			ReadyMaxSinksFailing:  DefaultReadyMaxSinksFailing,
			LiveMaxStall:          DefaultLiveMaxStall,
		},
		Graphite: Graphite{
			Server:         "127.0.0.1",
			Port:           3002,
			Retries:        3,
			Interval:       1800 * time.Millisecond,
			Backoff:        2,
			ConnectTimeout: time.Second,
			WriteTimeout:   time.Second,
			Delay:          10 * time.Second,
			Namespace:      "loadbalancers",
			PrefixHostname: true,
			FQDN:           true,
			QueueSize:      1000000,

			MaxLinesPerSecond: DefaultMaxLinesPerSecond,
		},
	}
}

// PrintDefaults writes the built-in defaults of the sections program p
// reads, in the original's -p format: sections and keys in code-point
// order, "key = value" lines, an empty line after each section. Only the
// keys each section defines itself are listed, none inherited.
func PrintDefaults(w io.Writer, p Program) error {
	var b strings.Builder
	for _, name := range sortedKeys(builtin) {
		if !p.prints(name) {
			continue
		}
		b.WriteString("[" + name + "]\n")
		for _, k := range sortedKeys(builtin[name]) {
			b.WriteString(k + " = " + builtin[name][k] + "\n")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// secret are the options whose values Print does not show.
var secret = map[string]bool{"http-password": true, "sasl-password": true}

// Print writes the effective configuration in the original's -P format:
// the sections program p reads (pull: DEFAULT and pull; process: every
// section but pull), each with its own options and those it inherits
// from DEFAULT, values interpolated, sections and keys in code-point
// order. Passwords show as "xxxxx": http-password, sasl-password, and
// those of URLs (Redact). Nothing is validated. If a value cannot be
// interpolated, Print writes nothing and returns the errors.
func (f *File) Print(w io.Writer, p Program) error {
	d := newDecoder(f)
	var b strings.Builder
	for _, name := range f.sectionNames() {
		if !p.prints(name) {
			continue
		}
		b.WriteString("[" + name + "]\n")
		for _, k := range f.optionNames(name) {
			v, _ := d.str(name, k)
			if secret[k] && v != "" {
				v = "xxxxx"
			}
			b.WriteString(k + " = " + Redact(v) + "\n")
		}
		b.WriteString("\n")
	}
	if err := d.err(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sectionNames returns the names of all sections, DEFAULT included, in
// code-point order.
func (f *File) sectionNames() []string {
	names := append(sortedKeys(f.sections), DefaultSection)
	sort.Strings(names)
	return names
}

// optionNames returns the options of section name, including those
// inherited from DEFAULT, in code-point order.
func (f *File) optionNames(name string) []string {
	keys := append([]string(nil), f.defaults.keys...)
	if s := f.sections[name]; s != nil {
		for _, k := range s.keys {
			if _, ok := f.defaults.vals[k]; !ok {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
