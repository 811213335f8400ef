package haproxystats_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/haproxystats-go/haproxystats/internal/config"
)

// laterDocs are documents other branches of issue 33 add (installing and
// packages; health endpoints and alert rules). Until they are merged, a
// link to one of them is not checked; once the file exists, it is.
var laterDocs = []string{"docs/install.md", "docs/health.md"}

// docFiles are the Markdown files of the manual: README.md and docs/*.md.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"README.md"}, files...)
}

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	codeSpan = regexp.MustCompile("`[^`]*`")
	mdLink   = regexp.MustCompile(`!?\[([^\]]*)\]\(([^()\s]*)\)`)
)

// prose returns text with its fenced code blocks blanked out (lines kept,
// so that line numbers stay right).
func prose(text string) string {
	lines := strings.Split(text, "\n")
	fence := false
	for i, l := range lines {
		if strings.HasPrefix(l, "```") {
			fence = !fence
			lines[i] = ""
			continue
		}
		if fence {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// headings returns the Markdown headings of text, outside code blocks,
// without their #s.
func headings(text string) []string {
	var out []string
	for _, l := range strings.Split(prose(text), "\n") {
		if m := regexp.MustCompile(`^#{1,6} (.*)`).FindStringSubmatch(l); m != nil {
			out = append(out, strings.TrimSpace(m[1]))
		}
	}
	return out
}

// slug is the anchor GitHub gives a heading: its text (code spans and
// link texts as shown, emphasis markers dropped), lower-cased, every
// character but letters, digits, '_', '-' and spaces dropped, spaces
// turned into '-'.
func slug(heading string) string {
	heading = mdLink.ReplaceAllString(heading, "$1")
	heading = strings.NewReplacer("`", "", "**", "", "*", "").Replace(heading)
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors are the anchors of text's headings; a repeated one gets -1,
// -2, ... as on GitHub.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, h := range headings(text) {
		a := slug(h)
		if n := seen[a]; n > 0 {
			seen[a]++
			a += "-" + strconv.Itoa(n)
		} else {
			seen[a] = 1
		}
		out[a] = true
	}
	return out
}

func TestSlug(t *testing.T) {
	f := func(heading, want string) {
		t.Helper()
		if got := slug(heading); got != want {
			t.Errorf("slug(%q) = %q, want %q", heading, got, want)
		}
	}
	f("How it works", "how-it-works")
	f("HAProxy ≥ 2.5: the master CLI and reloads", "haproxy--25-the-master-cli-and-reloads")
	f("`[prometheus]` (haproxystats-process, optional)", "prometheus-haproxystats-process-optional")
	f("Every column: all-metrics", "every-column-all-metrics")
	f("`[frontend-groups]`, `[backend-groups]`, `[server-groups]`", "frontend-groups-backend-groups-server-groups")
	if a := anchors("## Tests\n\n```\n# not a heading\n```\n### Tests\n"); !a["tests"] || !a["tests-1"] || a["not-a-heading"] {
		t.Errorf("anchors = %v, want tests and tests-1", a)
	}
}

// Every link of the manual to a file of the repository names one that
// exists, and every #anchor one of the target's headings, by GitHub's
// rules: moving text between files must not leave a link behind.
func TestDocLinks(t *testing.T) {
	n := 0
	for _, file := range docFiles(t) {
		text := readDoc(t, file)
		body := codeSpan.ReplaceAllStringFunc(prose(text), func(s string) string {
			return "x" + strings.Repeat("\n", strings.Count(s, "\n")) // keeps line numbers right
		})
		for _, m := range mdLink.FindAllStringSubmatchIndex(body, -1) {
			target := body[m[4]:m[5]]
			line := strings.Count(body[:m[0]], "\n") + 1
			if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			n++
			path, anchor, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				dest = filepath.Join(filepath.Dir(file), path)
			}
			if _, err := os.Stat(dest); err != nil {
				if slices.Contains(laterDocs, filepath.ToSlash(dest)) {
					t.Logf("%s:%d: %s does not exist yet (another branch adds it); not checked", file, line, dest)
					continue
				}
				t.Errorf("%s:%d: link to %s: %v", file, line, target, err)
				continue
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(dest, ".md") {
				t.Errorf("%s:%d: link to %s: an anchor in a file that is not Markdown", file, line, target)
				continue
			}
			if !anchors(readDoc(t, dest))[anchor] {
				t.Errorf("%s:%d: link to %s: %s has no heading with anchor #%s", file, line, target, dest, anchor)
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d local links found: is the link pattern still right?", n)
	}
}

// The README's first screen (everything before the first "## " heading
// after the map of the documentation, "## Documentation") fits in 80
// lines and answers a newcomer's first questions: what to type to try
// and test it (make demo and make test, exactly as CI and the developers'
// notes use them), how to install it, a configuration, how to see the
// metrics, the license, and where every document is.
func TestREADMEFirstScreen(t *testing.T) {
	lines := strings.Split(readDoc(t, "README.md"), "\n")
	mapAt := slices.Index(lines, "## Documentation")
	if mapAt < 0 {
		t.Fatal(`README.md has no "## Documentation" heading (the map of the docs)`)
	}
	end := slices.IndexFunc(lines[mapAt+1:], func(l string) bool { return strings.HasPrefix(l, "## ") })
	if end < 0 {
		t.Fatal(`README.md has no "## " heading after "## Documentation"`)
	}
	end += mapAt + 1
	if end > 80 {
		t.Errorf("the README's first screen is %d lines (up to line %d, %q), want at most 80", end, end+1, lines[end])
	}
	t.Logf("first screen: %d lines", end)
	screen := strings.Join(lines[:end], "\n")
	for _, want := range []string{
		"make demo    # real HAProxy (Debian package) + both daemons + real carbon-c-relay; shows the Graphite lines\n",
		"make test    # installs haproxy, carbon-c-relay, socat, curl, promtool, systemd, lintian, graphite-carbon, graphite-web when missing; go vet, gofmt check, go test -race\n",
		"make release", "apt install ./dist/haproxystats_", "systemctl enable --now haproxystats-pull haproxystats-process",
		"Go 1.26", "[prometheus]\nlisten = " + config.DefaultPrometheusListen + "\n",
		"curl -s http://" + config.DefaultPrometheusListen + "/metrics",
		"Apache License 2.0", "LICENSE",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("the README's first screen lacks %q", want)
		}
	}
	for _, doc := range append(docFiles(t)[1:], laterDocs...) {
		if !strings.Contains(screen, "]("+filepath.ToSlash(doc)+")") {
			t.Errorf("the README's map does not link %s", doc)
		}
	}
}

// iniBlocks returns the ```ini blocks of text.
func iniBlocks(text string) []string {
	var out []string
	var b *strings.Builder
	for _, l := range strings.Split(text, "\n") {
		switch {
		case b == nil && l == "```ini":
			b = new(strings.Builder)
		case b != nil && strings.HasPrefix(l, "```"):
			out = append(out, b.String())
			b = nil
		case b != nil:
			b.WriteString(l + "\n")
		}
	}
	return out
}

// The README's minimal configuration loads, for both daemons, without
// an error or a warning.
func TestREADMEMinimalConfiguration(t *testing.T) {
	blocks := iniBlocks(readDoc(t, "README.md"))
	if len(blocks) == 0 {
		t.Fatal("README.md has no ini block")
	}
	file := filepath.Join(t.TempDir(), "haproxystats.conf")
	if err := os.WriteFile(file, []byte(blocks[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(file, true, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []config.Program{config.PullProgram, config.ProcessProgram} {
		if _, warnings, err := f.Config(p); err != nil || len(warnings) > 0 {
			t.Errorf("the README's configuration: %v, warnings %q", err, warnings)
		}
	}
}

// An example configuration in the manual has no comment after a value:
// as in Python's ConfigParser, '#' and ';' start a comment only at the
// start of a line, so "ship = kafka  # default none" sets ship to all of
// that and the daemon refuses it. A reader copies examples as they are.
func TestDocINIHasNoInlineComments(t *testing.T) {
	inline := regexp.MustCompile(`\s[#;]`)
	for _, file := range docFiles(t) {
		for _, block := range iniBlocks(readDoc(t, file)) {
			for _, l := range strings.Split(block, "\n") {
				s := strings.TrimSpace(l)
				if strings.HasPrefix(s, "#") || strings.HasPrefix(s, ";") {
					continue
				}
				if _, v, ok := strings.Cut(s, "="); ok && inline.MatchString(v) {
					t.Errorf("%s: %q: a comment after a value is part of the value; put it on a line of its own", file, l)
				}
			}
		}
	}
}
