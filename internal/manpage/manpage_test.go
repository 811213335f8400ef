package manpage

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite contrib/man/*.8 from docs/configuration.md")

// The pages in contrib/man are what Render makes of docs/configuration.md now
// (go test ./internal/manpage -update rewrites them), they hold a row for
// every option of the sections their daemon reads, and man(1) formats
// them without a warning.
func TestPages(t *testing.T) {
	ref, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options(ref)
	if len(opts) < 80 {
		t.Fatalf("only %d options found in the tables of docs/configuration.md", len(opts))
	}
	for _, p := range Pages {
		got := Render(p, ref)
		path := filepath.Join("..", "..", "contrib", "man", p.Name+".8")
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what docs/configuration.md gives now: go test ./internal/manpage -update", path)
		}
		n := 0
		for _, o := range opts {
			for _, s := range p.Sections {
				if o.Section == s {
					n++
					if !strings.Contains(string(got), ".B "+roffWord(o.Name)+"\n") {
						t.Errorf("%s: no entry for [%s] %s", p.Name, s, o.Name)
					}
				}
			}
		}
		t.Logf("%s(8): %d options", p.Name, n)
		if man, err := exec.LookPath("man"); err == nil {
			cmd := exec.Command(man, "--warnings", "-l", path)
			cmd.Env = append(os.Environ(), "MANWIDTH=80", "MAN_KEEP_FORMATTING=0")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || stderr.Len() > 0 || !bytes.Contains(out, []byte("SIGHUP")) {
				t.Errorf("man -l %s: %v\n%s", path, err, stderr.String())
			}
		}
	}
}
