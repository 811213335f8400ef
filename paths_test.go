// Package haproxystats_test checks the repository itself: rules that no
// single package's tests can see.
package haproxystats_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// hostPath matches an absolute path under a directory that belongs to the
// machine rather than to a test: scratch space shared with every other
// program, users' homes, the daemons' own state and run directories, and
// system configuration. A test that reads or writes there passes or fails
// by what the machine happens to hold, so a fresh clone can fail where the
// author's checkout passed. The tools a test runs (/usr/..., /bin/...) and
// kernel files (/proc, /dev/null) are not in the list.
var hostPath = regexp.MustCompile(`(?:^|[\s"'=:(,;]|://)(/(?:tmp|var/tmp|dev/shm|root|home|var/lib|var/run|run|etc|srv|opt|mnt)(?:/[^\s"'` + "`" + `,;)]*)?)(?:$|[\s"'` + "`" + `,;)])`)

// exempt is the mark of a declaration or line whose paths are values only
// (a parser's input, a default compared as a string) and never opened.
// It must say why: "pathcheck: values only, <reason>".
const exempt = "pathcheck: values only"

// testSupport are the directories whose every Go file is test code,
// besides the *_test.go files found everywhere.
var testSupport = []string{"e2e", filepath.Join("internal", "haproxytest")}

// TestNoHostPaths fails for a test file that names a path on the machine
// outside t.TempDir() and testdata/: such a test depends on what was left
// on the machine where it was written.
func TestNoHostPaths(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "testdata", "bin", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if isTestCode(path) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("use t.TempDir() or testdata/; a path that is only a value, never opened, "+
				"is marked in its declaration's doc comment or on the line above: %q", exempt+", <why>")
		}
	})
	if len(files) < 20 {
		t.Fatalf("found only %d test files from %s: is the walk broken?", len(files), mustAbs(t, "."))
	}
	for _, f := range files {
		for _, bad := range hostPaths(t, f) {
			t.Errorf("%s: %s is on the machine, outside the test's own directories", bad.pos, bad.path)
		}
	}
}

func isTestCode(path string) bool {
	if !strings.HasSuffix(path, ".go") {
		return false
	}
	if strings.HasSuffix(path, "_test.go") {
		return true
	}
	for _, dir := range testSupport {
		if strings.HasPrefix(path, dir+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

type finding struct {
	pos  token.Position
	path string
}

// hostPaths returns the host paths named by the string literals of one
// file, less those in a declaration or on a line marked exempt.
func hostPaths(t *testing.T, file string) []finding {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	exemptLines := map[int]bool{} // lines carrying the mark
	for _, cg := range f.Comments {
		if strings.Contains(cg.Text(), exempt) {
			exemptLines[fset.Position(cg.End()).Line] = true
		}
	}
	type span struct{ from, to token.Pos }
	var spans []span // declarations whose doc carries the mark
	for _, d := range f.Decls {
		var doc *ast.CommentGroup
		switch d := d.(type) {
		case *ast.FuncDecl:
			doc = d.Doc
		case *ast.GenDecl:
			doc = d.Doc
		}
		if doc != nil && strings.Contains(doc.Text(), exempt) {
			spans = append(spans, span{d.Pos(), d.End()})
		}
	}
	var out []finding
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		for _, s := range spans {
			if lit.Pos() >= s.from && lit.End() <= s.to {
				return true
			}
		}
		pos := fset.Position(lit.Pos())
		if exemptLines[pos.Line] || exemptLines[pos.Line-1] {
			return true
		}
		v, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatalf("%s: %v", pos, err)
		}
		for _, m := range hostPath.FindAllStringSubmatchIndex(v, -1) {
			p := pos
			p.Line += strings.Count(v[:m[2]], "\n") // raw strings span lines
			out = append(out, finding{p, v[m[2]:m[3]]})
		}
		return true
	})
	return out
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// host returns the absolute path /root+rest. The rule's own cases are
// written with it, so that no literal of this file names a path on the
// machine, and this file passes its own rule without a mark.
func host(root, rest string) string { return string(filepath.Separator) + root + rest }

// TestHostPathRule keeps the rule itself honest: what it must catch and
// what it must let through.
func TestHostPathRule(t *testing.T) {
	probe := host("tmp", "/probe/snap")
	incoming := host("var/lib", "/haproxystats/incoming")
	sock := host("run", "/haproxy/admin.sock")
	for _, c := range []struct {
		in   string
		want string
	}{
		{probe, probe},
		{host("tmp", ""), host("tmp", "")},
		{"cp -r " + host("tmp", "/probe") + " x", host("tmp", "/probe")},
		{"dst-dir = " + incoming + "\n", incoming},
		{"unix://" + sock, sock},
		{"socket-dir = " + host("run", "/haproxy"), host("run", "/haproxy")},
		{host("root", "/.cache"), host("root", "/.cache")},
		{host("home", "/u/x"), host("home", "/u/x")},
		{host("etc", "/haproxystats.conf"), host("etc", "/haproxystats.conf")},
		{host("usr", "/sbin/haproxy"), ""},
		{host("dev", "/null"), ""},
		{host("proc", "/self/fd"), ""},
		{host("tmp", "foo"), ""},
		{"a" + host("tmp", "/b"), ""},
		{"100" + host("tmp", ""), ""},
	} {
		var got string
		if m := hostPath.FindStringSubmatch(c.in); m != nil {
			got = m[1]
		}
		if got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

// TestHostPathMarks checks the marks on a file like the probe that once
// landed: its copy from /tmp is found, the marked values are not.
func TestHostPathMarks(t *testing.T) {
	probe, run := host("tmp", "/probe/snap"), host("run", "/haproxy")
	incoming := host("var/lib", "/haproxystats/incoming")
	file := filepath.Join(t.TempDir(), "probe_test.go")
	src := "package p\n\n" +
		"import \"os/exec\"\n\n" +
		"func probe() {\n" +
		"\texec.Command(\"cp\", \"-r\", \"" + probe + "\", \"x\").Run()\n" +
		"\t// " + exempt + ", compared as a string.\n" +
		"\t_ = \"" + run + "\"\n" +
		"\t_ = `[pull]\n" +
		"dst-dir = " + incoming + "`\n" +
		"}\n\n" +
		"// " + exempt + ", the defaults as text.\n" +
		"const defaults = \"socket-dir = " + run + "\"\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range hostPaths(t, file) {
		got = append(got, fmt.Sprintf("%d %s", f.pos.Line, f.path))
	}
	want := []string{"6 " + probe, "10 " + incoming}
	if !slices.Equal(got, want) {
		t.Errorf("found %q, want %q in\n%s", got, want, src)
	}
}
