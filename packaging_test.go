package haproxystats_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// make deb's package, for amd64: what it installs, its conffile and
// maintainer scripts, its units as systemd reads them, and lintian's
// verdict, which must be nothing but the overrides the package carries.
func TestDebianPackage(t *testing.T) {
	for _, tool := range []string{"dpkg-deb", "lintian", "systemd-analyze"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed (make test installs it: scripts/deps.sh)", tool)
		}
	}
	out := t.TempDir()
	build := exec.Command("scripts/deb.sh", out, "0.6.0-dev-gtest", "0123456789abcdef", "amd64")
	build.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	b, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/deb.sh: %v\n%s", err, b)
	}
	deb := strings.TrimSpace(string(b))
	if filepath.Base(deb) != "haproxystats_0.6.0~dev+gtest_amd64.deb" {
		t.Fatalf("built %q", deb)
	}

	contents := run(t, "dpkg-deb", "-c", deb)
	// The manual: README.md and every docs/*.md, which it links to.
	docs, err := filepath.Glob("docs/*.md")
	if err != nil || len(docs) == 0 {
		t.Fatalf("docs/*.md: %v, %d files", err, len(docs))
	}
	files := []string{
		"./usr/bin/haproxystats-pull", "./usr/bin/haproxystats-process", "./etc/haproxystats.conf",
		"./lib/systemd/system/haproxystats-pull.service", "./lib/systemd/system/haproxystats-process.service",
		"./usr/share/man/man8/haproxystats-pull.8.gz", "./usr/share/man/man8/haproxystats-process.8.gz",
		"./usr/share/doc/haproxystats/copyright", "./usr/share/doc/haproxystats/changelog.gz",
		"./usr/share/doc/haproxystats/README.md.gz", "./usr/share/lintian/overrides/haproxystats",
		"./usr/share/doc/haproxystats/grafana/haproxystats-graphite.json", "./usr/share/doc/haproxystats/grafana/haproxystats-prometheus.json",
		"./usr/share/doc/haproxystats/docs/graphite-frontend-responses.png",
	}
	for _, d := range docs {
		files = append(files, "./usr/share/doc/haproxystats/docs/"+filepath.Base(d)+".gz")
	}
	for _, want := range files {
		if !regexp.MustCompile(`root/root .* ` + regexp.QuoteMeta(want) + `\n`).MatchString(contents) {
			t.Errorf("the package lacks %s, owned by root:\n%s", want, contents)
		}
	}
	info := run(t, "dpkg-deb", "-I", deb)
	for _, want := range []string{"Package: haproxystats", "Version: 0.6.0~dev+gtest", "Architecture: amd64", "Depends: adduser, init-system-helpers", " postinst", " prerm", " postrm", " conffiles"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb -I lacks %q:\n%s", want, info)
		}
	}
	ctrl := t.TempDir()
	run(t, "dpkg-deb", "-e", deb, ctrl)
	// pathcheck: values only, the conffile the package declares, compared as text
	if b, _ := os.ReadFile(filepath.Join(ctrl, "conffiles")); string(b) != "/etc/haproxystats.conf\n" {
		t.Errorf("conffiles: %q", b)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		run(t, "sh", "-n", filepath.Join(ctrl, s))
	}
	if b, _ := os.ReadFile(filepath.Join(ctrl, "postinst")); strings.Contains(string(b), "enable") && !strings.Contains(string(b), "not enabled") || strings.Contains(string(b), "deb-systemd-invoke start") {
		t.Error("postinst enables or starts the daemons: nothing is started before the configuration is edited")
	}

	// The units as installed: the binaries in /usr/bin, the man pages.
	root := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, root)
	if v := run(t, filepath.Join(root, "usr/bin/haproxystats-pull"), "-v"); !strings.HasPrefix(v, "0.6.0-dev-gtest (commit 0123456789abcdef") {
		t.Errorf("the packaged haproxystats-pull -v: %q", v)
	}
	for _, name := range []string{"haproxystats-pull", "haproxystats-process"} {
		unit, err := os.ReadFile(filepath.Join(root, "lib/systemd/system", name+".service"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(unit), "ExecStart=/usr/bin/"+name+" ") || !strings.Contains(string(unit), "Documentation=man:"+name+"(8) ") {
			t.Errorf("%s.service does not run /usr/bin/%s or name its man page", name, name)
		}
		path := filepath.Join(t.TempDir(), name+".service")
		os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/bin/", root+"/usr/bin/")), 0o644)
		verify := exec.Command("systemd-analyze", "verify", path)
		verify.Env = append(os.Environ(), "MANPATH="+filepath.Join(root, "usr/share/man")) // it checks that man finds the pages
		if problems := verifyUnit(verify); problems != "" {
			t.Errorf("systemd-analyze verify of the packaged %s.service:\n%s", name, problems)
		}
	}

	// lintian: every tag it reports is one the package overrides.
	lintian := exec.Command("lintian", "--pedantic", "--info", "--show-overrides", deb)
	lintian.Env = append(os.Environ(), "TMPDIR="+t.TempDir()) // its own files go there, not to /tmp
	lint, _ := lintian.CombinedOutput()
	var tags, overridden []string
	for _, line := range strings.Split(string(lint), "\n") {
		switch {
		case regexp.MustCompile(`^[EWIPX]: `).MatchString(line):
			tags = append(tags, line)
		case strings.HasPrefix(line, "O: "):
			overridden = append(overridden, line)
		}
	}
	t.Logf("lintian --pedantic --info: %d tags, %d overridden (%s)", len(tags), len(overridden), strings.Join(overridden, "; "))
	if len(tags) > 0 {
		t.Errorf("lintian reports:\n%s", strings.Join(tags, "\n"))
	}
	if !slices.ContainsFunc(overridden, func(s string) bool { return strings.Contains(s, "haproxystats-pull") }) {
		t.Errorf("lintian shows none of the package's overrides (did it run?):\n%s", lint)
	}
}

// run runs name with args and returns its output; it fails the test
// when the command does.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
