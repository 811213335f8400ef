package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad parses arbitrary bytes as a configuration file and decodes it
// for both programs: nothing may panic, and every reported problem is one
// non-empty line.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"testdata/readme-example.conf", "testdata/readme-dev.conf"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("[pull]\nservers = tcp://[::1]:5, unix:///a.sock,\n  tcp://h:0\n"))
	f.Add([]byte("[graphite]\ngroup-namespace =\ngroup-namespace-double-writes = on\n[frontend-groups]\nwww = ^www$$\nx = (?!a)\n"))
	f.Add([]byte("[DEFAULT]\na = ${b}\nb = ${a}\n[pull]\nx = ${DEFAULT:a}$\n"))
	f.Add([]byte("[x]\na = 1\n  2\n\n[x]\nA: 3\n"))
	f.Add([]byte("[local-store]\n[process]\nfrontend-metrics = scur  bin\n"))
	f.Add([]byte("[kafka]\nbrokers = k:9092,[::1]:1,\nacks = Leader\ntls = on\ntls-ca-file = /nonexistent\nsasl-mechanism = plain\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "fuzz.conf")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := Load(path, true, "")
		if err != nil {
			return
		}
		for _, p := range []Program{PullProgram, ProcessProgram} {
			cfg, warnings, err := file.Config(p)
			if (cfg == nil) == (err == nil) {
				t.Fatalf("Config(%v) = %v, %v: want exactly one of them", p, cfg, err)
			}
			for _, line := range append(errLines(err), warnings...) {
				if line == "" || strings.Contains(line, "\n") {
					t.Fatalf("Config(%v): bad message line %q", p, line)
				}
			}
			_ = file.Print(io.Discard, p)
		}
	})
}
