package haproxystats_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// make deb's package, for amd64: what it installs, its conffile and
// maintainer scripts, its units as systemd reads them, and lintian's
// verdict, which must be nothing but the overrides the package carries.
func TestDebianPackage(t *testing.T) {
	needTools(t, "dpkg-deb", "lintian", "systemd-analyze")
	deb := release(t, "deb")[0]
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

	// As installed: the binaries in /usr/bin, the units, the man pages,
	// the license.
	root := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, root)
	checkInstalled(t, root, "lib/systemd/system")
	copyright, err := os.ReadFile(filepath.Join(root, "usr/share/doc/haproxystats/copyright"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/", "\nFiles: *\n", "\nLicense: Apache-2.0\n", `"/usr/share/common-licenses/Apache-2.0"`} {
		if !strings.Contains(string(copyright), want) {
			t.Errorf("copyright lacks %q:\n%s", want, copyright)
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

// The rpm of make release, for x86_64, checked as the deb is: its
// metadata, its files with their modes, owners and flags, its scripts,
// and, installed into a scratch root with rpm --root, the files where
// they belong, the conffile mode 0640 group haproxystats, rpm -V clean,
// the units as systemd reads them. The scripts do not run there (a
// scratch root has no shell, useradd or systemd): the users they would
// make are written into its /etc/passwd and /etc/group beforehand.
func TestRPMPackage(t *testing.T) {
	needTools(t, "rpm", "systemd-analyze")
	pkg := release(t, "rpm")[0]
	if filepath.Base(pkg) != "haproxystats-0.6.0~dev+gtest-1.x86_64.rpm" {
		t.Fatalf("built %q", pkg)
	}

	q := func(args ...string) string { return run(t, "rpm", append([]string{"-qp"}, append(args, pkg)...)...) }
	if got, want := q("--qf", "%{NAME} %{VERSION} %{RELEASE} %{ARCH} %{OS} %{LICENSE} %{BUILDTIME} %{BUILDHOST}\n"),
		"haproxystats 0.6.0~dev+gtest 1 x86_64 linux Apache-2.0 1700000000 haproxystats-release\n"; got != want {
		t.Errorf("rpm -qp --qf: %q, want %q", got, want)
	}
	for _, c := range []struct{ flag, want string }{
		{"--requires", "shadow-utils"}, {"--requires", "systemd"}, {"--recommends", "haproxy"}, {"--suggests", "carbon-c-relay"},
	} {
		if got := strings.Fields(q(c.flag)); !slices.Contains(got, c.want) {
			t.Errorf("rpm -qp %s lacks %s: %q", c.flag, c.want, got)
		}
	}

	// Every file: mode, owner:group, flags (c config, n noreplace, l
	// license), mtime.
	listing := q("--qf", "[%{FILEMODES:perms}|%{FILEUSERNAME}:%{FILEGROUPNAME}|%{FILEFLAGS:fflags}|%{FILEMTIMES}|%{FILENAMES}\n]")
	files := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(listing), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 5 {
			t.Fatalf("rpm -qp --qf: %q", line)
		}
		files[f[4]] = fmt.Sprintf("%s %s %s %s", f[0], f[1], cmp.Or(f[2], "-"), f[3])
	}
	want := maps.Clone(rpmFiles)
	// The manual the README links to: docs/*.md and its pictures.
	want[filepath.Join(rpmDoc, "docs")] = "drwxr-xr-x root:root -"
	for _, pattern := range []string{"docs/*.md", "docs/*.png"} {
		docs, _ := filepath.Glob(pattern)
		for _, d := range docs {
			want[filepath.Join(rpmDoc, "docs", filepath.Base(d))] = "-rw-r--r-- root:root -"
		}
	}
	// The alert rules, when the tree has them, beside the dashboards.
	filepath.WalkDir(filepath.Join("contrib", "prometheus"), func(path string, d fs.DirEntry, err error) error {
		if err == nil {
			dst := filepath.Join(rpmDoc, "prometheus", strings.TrimPrefix(path, filepath.Join("contrib", "prometheus")))
			want[dst] = map[bool]string{true: "drwxr-xr-x root:root -", false: "-rw-r--r-- root:root -"}[d.IsDir()]
		}
		return nil
	})
	for path, w := range want {
		if got := files[path]; got != w+" 1700000000" {
			t.Errorf("rpm: %s is %q, want %q", path, got, w+" 1700000000")
		}
	}
	if len(files) != len(want) {
		t.Errorf("rpm holds %d files, want %d:\n%s", len(files), len(want), listing)
	}

	// The scripts: the user before the files, nothing enabled or
	// started on install, stopped on erase, restarted on upgrade.
	scripts := q("--scripts")
	for _, want := range []string{
		"preinstall scriptlet (using /bin/sh)", "useradd -r -g haproxystats -G haproxy",
		"postinstall scriptlet (using /bin/sh)", "install -d -o haproxystats -g haproxystats -m 0750",
		"preuninstall scriptlet (using /bin/sh)", "disable --now haproxystats-pull.service haproxystats-process.service",
		"postuninstall scriptlet (using /bin/sh)", "try-restart haproxystats-pull.service haproxystats-process.service",
	} {
		if !strings.Contains(scripts, want) {
			t.Errorf("rpm -qp --scripts lacks %q:\n%s", want, scripts)
		}
	}
	for _, s := range []string{"pre", "post", "preun", "postun"} {
		run(t, "sh", "-n", filepath.Join("packaging", "rpm", s))
	}
	post, _ := os.ReadFile(filepath.Join("packaging", "rpm", "post"))
	for _, line := range strings.Split(string(post), "\n") {
		if !strings.HasPrefix(line, "#") && regexp.MustCompile(`\b(enable|start|restart)\b`).MatchString(line) {
			t.Errorf("%%post enables or starts the daemons (%q): nothing is started before the configuration is edited", line)
		}
	}

	if os.Geteuid() != 0 {
		t.Log("not root: rpm --root cannot give the files their owners, so the scratch install is left out")
		return
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	// pathcheck: values only, the home and shell of the scratch root's haproxystats user
	os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nhaproxystats:x:999:998::/var/lib/haproxystats:/sbin/nologin\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc", "group"), []byte("root:x:0:\nhaproxy:x:997:haproxystats\nhaproxystats:x:998:\n"), 0o644)
	// pathcheck: values only, the database's path inside the scratch root (rpm --root)
	db := []string{"--root", root, "--dbpath", "/var/lib/rpm"}
	run(t, "rpm", append(db, "--initdb")...)
	run(t, "rpm", append(db, "-i", "--nodeps", "--noscripts", pkg)...)
	if out := run(t, "rpm", append(db, "-q", "haproxystats")...); out != "haproxystats-0.6.0~dev+gtest-1.x86_64\n" {
		t.Errorf("rpm -q after install: %q", out)
	}
	// rpm -V: every file's digest, size, mode, owner, group and mtime as
	// the package says (--nodeps: the scratch root has none of them).
	run(t, "rpm", append(db, "-V", "--nodeps", "haproxystats")...)
	fi, err := os.Stat(filepath.Join(root, "etc", "haproxystats.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o640 || st.Uid != 0 || st.Gid != 998 {
		t.Errorf("installed conffile: mode %v, owner %d:%d; want 0640, 0:998 (root:haproxystats)", fi.Mode().Perm(), st.Uid, st.Gid)
	}
	checkInstalled(t, root, "usr/lib/systemd/system")
	if _, err := os.Stat(filepath.Join(root, "usr/share/licenses/haproxystats/LICENSE")); err != nil {
		t.Error(err)
	}
}

// rpmDoc is the rpm's documentation directory. pathcheck: values only,
// a path rpm -qp lists, compared as text.
const rpmDoc = "/usr/share/doc/haproxystats"

// rpmFiles is what the rpm holds: mode, owner:group and rpm's flags
// ("-" for none) by path. pathcheck: values only, the paths rpm -qp
// lists, compared as text.
var rpmFiles = map[string]string{
	"/etc/haproxystats.conf":                                           "-rw-r----- root:haproxystats cn",
	"/usr/bin/haproxystats-pull":                                       "-rwxr-xr-x root:root -",
	"/usr/bin/haproxystats-process":                                    "-rwxr-xr-x root:root -",
	"/usr/lib/systemd/system/haproxystats-pull.service":                "-rw-r--r-- root:root -",
	"/usr/lib/systemd/system/haproxystats-process.service":             "-rw-r--r-- root:root -",
	"/usr/share/man/man8/haproxystats-pull.8.gz":                       "-rw-r--r-- root:root -",
	"/usr/share/man/man8/haproxystats-process.8.gz":                    "-rw-r--r-- root:root -",
	"/usr/share/doc/haproxystats":                                      "drwxr-xr-x root:root -",
	"/usr/share/doc/haproxystats/README.md":                            "-rw-r--r-- root:root -",
	"/usr/share/doc/haproxystats/grafana":                              "drwxr-xr-x root:root -",
	"/usr/share/doc/haproxystats/grafana/haproxystats-graphite.json":   "-rw-r--r-- root:root -",
	"/usr/share/doc/haproxystats/grafana/haproxystats-prometheus.json": "-rw-r--r-- root:root -",
	"/usr/share/licenses/haproxystats":                                 "drwxr-xr-x root:root -",
	"/usr/share/licenses/haproxystats/LICENSE":                         "-rw-r--r-- root:root l",
}

// Two clones of this commit, at different paths, cloned and built under
// different umasks and time zones, with different file mtimes, give the
// same release files byte for byte: both architectures' deb, rpm and
// tarball, and SHA256SUMS, which lists every other file. The clones hold
// HEAD: changes not committed are not in them.
func TestReleaseReproducible(t *testing.T) {
	needTools(t, "git", "tar", "gzip", "sha256sum")
	if out, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err != nil {
		t.Fatalf("git status: %v (the test clones this repository)", err)
	} else if len(out) > 0 {
		t.Logf("uncommitted changes are not in the clones:\n%s", out)
	}
	base := t.TempDir()
	builds := []struct {
		dir, umask, tz string
		mtime          time.Time // of every file in the clone
	}{
		{filepath.Join(base, "a"), "022", "UTC", time.Time{}},
		{filepath.Join(base, "b", "a longer path", "haproxystats"), "077", "Pacific/Chatham", time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)},
	}
	for _, b := range builds {
		run(t, "sh", "-c", `umask "$1" && git clone -q --no-hardlinks . "$2"`, "sh", b.umask, b.dir)
		if !b.mtime.IsZero() {
			filepath.WalkDir(b.dir, func(path string, d fs.DirEntry, err error) error {
				if err == nil && !strings.Contains(path, string(filepath.Separator)+".git") {
					err = os.Chtimes(path, b.mtime, b.mtime)
				}
				return err
			})
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "SOURCE_DATE_EPOCH", "VERSION", "COMMIT", "TZ":
		default:
			env = append(env, kv)
		}
	}
	start := time.Now()
	errs := make([]error, len(builds))
	outs := make([][]byte, len(builds))
	var wg sync.WaitGroup
	for i, b := range builds {
		cmd := exec.Command("sh", "-c", `umask "$1" && exec scripts/release.sh dist`, "sh", b.umask)
		cmd.Dir = b.dir
		cmd.Env = slices.Concat(env, []string{"TZ=" + b.tz, "TMPDIR=" + t.TempDir()}) // each its own copy
		wg.Go(func() { outs[i], errs[i] = cmd.CombinedOutput() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("scripts/release.sh dist in %s: %v\n%s", builds[i].dir, err, outs[i])
		}
	}
	t.Logf("two release builds, side by side: %v", time.Since(start).Round(time.Second))

	dists := [2]map[string][]byte{}
	for i, b := range builds {
		dists[i] = map[string][]byte{}
		entries, err := os.ReadDir(filepath.Join(b.dir, "dist"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(b.dir, "dist", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			dists[i][e.Name()] = data
		}
	}
	var names []string
	for name := range dists[0] {
		names = append(names, name)
	}
	slices.Sort(names)
	patterns := []string{`^haproxystats_[^_]+_amd64\.deb$`, `^haproxystats_[^_]+_arm64\.deb$`,
		`^haproxystats-[^-]+-1\.x86_64\.rpm$`, `^haproxystats-[^-]+-1\.aarch64\.rpm$`,
		`^haproxystats-.+-linux-amd64\.tar\.gz$`, `^haproxystats-.+-linux-arm64\.tar\.gz$`, `^SHA256SUMS$`}
	for _, p := range patterns {
		if !slices.ContainsFunc(names, regexp.MustCompile(p).MatchString) {
			t.Errorf("dist/ has no file matching %s: %q", p, names)
		}
	}
	if len(names) != len(patterns) {
		t.Errorf("dist/ holds %q, want one file for each of %q", names, patterns)
	}
	for _, name := range names {
		other, ok := dists[1][name]
		switch {
		case !ok:
			t.Errorf("%s is built in %s only", name, builds[0].dir)
		case !bytes.Equal(dists[0][name], other):
			t.Errorf("%s differs between the two builds (%d and %d bytes)", name, len(dists[0][name]), len(other))
		}
	}
	for name := range dists[1] {
		if _, ok := dists[0][name]; !ok {
			t.Errorf("%s is built in %s only", name, builds[1].dir)
		}
	}
	sums := string(dists[0]["SHA256SUMS"])
	t.Logf("SHA256SUMS:\n%s", sums)
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(sums), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", line)
		}
		listed[name] = sum
	}
	for _, name := range names {
		if name == "SHA256SUMS" {
			continue
		}
		h := sha256.Sum256(dists[0][name])
		if listed[name] != hex.EncodeToString(h[:]) {
			t.Errorf("SHA256SUMS gives %s for %s, its sha256 is %x", listed[name], name, h)
		}
	}
	if len(listed) != len(names)-1 {
		t.Errorf("SHA256SUMS lists %d files, dist/ holds %d besides it", len(listed), len(names)-1)
	}

	epoch, err := strconv.ParseInt(strings.TrimSpace(run(t, "git", "-C", builds[0].dir, "log", "-1", "--format=%ct")), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	_, hasAlerts := os.Stat(filepath.Join(builds[0].dir, "contrib", "prometheus"))
	for _, name := range names {
		if strings.HasSuffix(name, "-linux-amd64.tar.gz") {
			checkTarball(t, name, dists[0][name], time.Unix(epoch, 0), hasAlerts == nil)
		}
	}
}

// checkTarball checks the release tarball name holding data: one
// top directory named after it; the binaries, units, man pages, example
// configuration, dashboards, alert rules (when the tree has them),
// LICENSE and README.md in it; every entry owned by 0:0, with mtime.
func checkTarball(t *testing.T, name string, data []byte, mtime time.Time, alerts bool) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if !zr.ModTime.IsZero() || zr.Name != "" {
		t.Errorf("%s: gzip header holds a time (%v) or a name (%q)", name, zr.ModTime, zr.Name)
	}
	top := strings.TrimSuffix(name, ".tar.gz") + "/"
	modes := map[string]int64{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.HasPrefix(h.Name, top) {
			t.Errorf("%s: %s is outside %s", name, h.Name, top)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(mtime) {
			t.Errorf("%s: %s owned by %d:%d, mtime %v; want 0:0, %v", name, h.Name, h.Uid, h.Gid, h.ModTime, mtime)
		}
		modes[strings.TrimPrefix(h.Name, top)] = h.Mode
	}
	want := map[string]int64{
		"bin/haproxystats-pull": 0o755, "bin/haproxystats-process": 0o755,
		"systemd/haproxystats-pull.service": 0o644, "systemd/haproxystats-process.service": 0o644,
		"man/man8/haproxystats-pull.8": 0o644, "man/man8/haproxystats-process.8": 0o644,
		"haproxystats.conf.example": 0o644, "grafana/haproxystats-graphite.json": 0o644,
		"grafana/haproxystats-prometheus.json": 0o644, "LICENSE": 0o644, "README.md": 0o644,
	}
	docs, _ := filepath.Glob("docs/*.md")
	for _, d := range append(docs, "docs/graphite-frontend-responses.png") {
		want[d] = 0o644 // the manual the README links to
	}
	for path, mode := range want {
		if got, ok := modes[path]; !ok || got != mode {
			t.Errorf("%s: %s has mode %o (present: %v), want %o", name, path, got, ok, mode)
		}
	}
	if _, ok := modes["prometheus/"]; ok != alerts {
		t.Errorf("%s: prometheus/ present %v, contrib/prometheus present %v", name, ok, alerts)
	}
}

// release builds, with scripts/release.sh, this tree's package of format
// (deb or rpm) for amd64, as version 0.6.0-dev-gtest of commit
// 0123456789abcdef made at 1700000000 (SOURCE_DATE_EPOCH), and returns
// the paths it printed: the package, then SHA256SUMS.
func release(t *testing.T, format string) []string {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command("scripts/release.sh", "-f", format, "-a", "amd64", out)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir(), "VERSION=0.6.0-dev-gtest", "COMMIT=0123456789abcdef", "SOURCE_DATE_EPOCH=1700000000")
	b, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if e, ok := err.(*exec.ExitError); ok {
			stderr = e.Stderr
		}
		t.Fatalf("scripts/release.sh -f %s: %v\n%s%s", format, err, b, stderr)
	}
	var files []string
	for sc := bufio.NewScanner(bytes.NewReader(b)); sc.Scan(); {
		files = append(files, sc.Text())
	}
	if len(files) != 2 || filepath.Base(files[1]) != "SHA256SUMS" {
		t.Fatalf("scripts/release.sh -f %s printed %q", format, files)
	}
	return files
}

// checkInstalled checks a package installed under root: the binaries in
// /usr/bin stamped with the version, the units in unitDir running them
// and naming their man pages, as systemd-analyze verify reads them, the
// man pages and the dashboards.
func checkInstalled(t *testing.T, root, unitDir string) {
	t.Helper()
	if v := run(t, filepath.Join(root, "usr/bin/haproxystats-pull"), "-v"); !strings.HasPrefix(v, "0.6.0-dev-gtest (commit 0123456789abcdef") {
		t.Errorf("the packaged haproxystats-pull -v: %q", v)
	}
	for _, name := range []string{"haproxystats-pull", "haproxystats-process"} {
		unit, err := os.ReadFile(filepath.Join(root, unitDir, name+".service"))
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
		if _, err := os.Stat(filepath.Join(root, "usr/share/man/man8", name+".8.gz")); err != nil {
			t.Error(err)
		}
	}
	for _, d := range []string{"haproxystats-graphite.json", "haproxystats-prometheus.json"} {
		if _, err := os.Stat(filepath.Join(root, "usr/share/doc/haproxystats/grafana", d)); err != nil {
			t.Error(err)
		}
	}
}

// needTools fails the test when a tool it runs is missing: make test
// installs them all (scripts/deps.sh).
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed (make test installs it: scripts/deps.sh)", tool)
		}
	}
}

// scripts/deps.sh looks at Go before it installs anything: with Debian
// bookworm's Go 1.19 first on the PATH it stops, says how to get Go 1.26,
// and has run neither apt-get nor sudo.
func TestDepsChecksGoFirst(t *testing.T) {
	bin := t.TempDir()
	marker := filepath.Join(t.TempDir(), "installed")
	os.WriteFile(filepath.Join(bin, "go"), []byte("#!/bin/sh\necho 'go version go1.19.8 linux/amd64'\n"), 0o755)
	for _, tool := range []string{"apt-get", "sudo"} {
		os.WriteFile(filepath.Join(bin, tool), []byte("#!/bin/sh\necho \"$0 $*\" >>"+marker+"\n"), 0o755)
	}
	cmd := exec.Command("scripts/deps.sh")
	cmd.Env = append(os.Environ(), "PATH="+bin+string(filepath.ListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("scripts/deps.sh with Go 1.19 succeeded:\n%s", out)
	}
	for _, want := range []string{"go1.19.8", "needs Go 1.26 or newer", "https://go.dev/dl/", "tar -C /usr/local -xzf", "/usr/local/go/bin", "docs/install.md"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("scripts/deps.sh's message lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(marker); err == nil {
		t.Errorf("scripts/deps.sh ran before looking at Go:\n%s", b)
	}
}
