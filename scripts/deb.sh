#!/usr/bin/env bash
# scripts/deb.sh OUTDIR VERSION COMMIT ARCH...: builds haproxystats_<v>_<arch>.deb
# for each ARCH (amd64, arm64: Go cross-compiles) into OUTDIR, with
# dpkg-deb. dpkg-deb rather than a Go packaging library: it is what
# Debian itself builds with, it is on every Debian machine, and the
# package is plain files and four short maintainer scripts, nothing a
# library would spare us. The package is native (no upstream tarball),
# built from this tree as it is.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin:/usr/local/go/bin"
cd "$(dirname "$0")/.."
out=$1 version=$2 commit=$3
shift 3
GO=${GO:-go}
# Debian's version of git describe: 0.6.0-dev-g1a2b3c4 → 0.6.0~dev+g1a2b3c4
# (~ sorts before the release, + keeps the commit; no "-": native).
debversion=$(echo "$version" | sed -e 's/^v//' -e 's/-dev/~dev/' -e 's/-/+/g')
mkdir -p "$out"
for arch in "$@"; do
	case $arch in amd64 | arm64) ;; *) echo "deb: architecture $arch: amd64 or arm64" >&2; exit 2 ;; esac
	root=$(mktemp -d "${TMPDIR:-/tmp}/haproxystats-deb.XXXXXX")
	trap 'rm -rf "$root"' EXIT
	doc=$root/usr/share/doc/haproxystats
	install -d "$root/DEBIAN" "$root/usr/bin" "$root/etc" "$root/lib/systemd/system" \
		"$root/usr/share/man/man8" "$doc" "$root/usr/share/lintian/overrides"
	# Position-independent (ASLR, as Debian builds its Go packages), no
	# cgo, stripped, without the build's paths.
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch $GO build -trimpath -buildmode=pie \
		-ldflags "-s -w -X github.com/haproxystats-go/haproxystats/internal/cli.Version=$version -X github.com/haproxystats-go/haproxystats/internal/cli.Commit=$commit" \
		-o "$root/usr/bin/" ./cmd/...
	install -m 644 haproxystats.conf.example "$root/etc/haproxystats.conf"
	for unit in contrib/systemd/*.service; do
		name=$(basename "$unit" .service)
		sed -e 's|/usr/local/bin/|/usr/bin/|' \
			-e "s|^Documentation=\(.*\)|Documentation=man:$name(8) \1|" \
			"$unit" >"$root/lib/systemd/system/$(basename "$unit")"
		chmod 644 "$root/lib/systemd/system/$(basename "$unit")"
	done
	for page in contrib/man/*.8; do
		gzip -9n <"$page" >"$root/usr/share/man/man8/$(basename "$page").gz"
	done
	gzip -9n <README.md >"$doc/README.md.gz"
	# The manual the README links to: docs/*.md, compressed as Debian
	# compresses documentation, and its pictures.
	install -d "$doc/docs"
	for md in docs/*.md; do
		gzip -9n <"$md" >"$doc/docs/$(basename "$md").gz"
	done
	install -m 644 docs/*.png "$doc/docs/"
	install -d "$doc/grafana"
	install -m 644 contrib/grafana/*.json "$doc/grafana/"
	install -m 644 packaging/debian/copyright "$doc/copyright"
	sed -e "s/@VERSION@/$debversion/" -e "s/@DATE@/$(git log -1 --format=%aD 2>/dev/null || date -R)/" \
		packaging/debian/changelog | gzip -9n >"$doc/changelog.gz"
	install -m 644 packaging/debian/lintian-overrides "$root/usr/share/lintian/overrides/haproxystats"
	for s in postinst prerm postrm; do
		install -m 755 "packaging/debian/$s" "$root/DEBIAN/$s"
	done
	echo /etc/haproxystats.conf >"$root/DEBIAN/conffiles"
	size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
	sed -e "s/@VERSION@/$debversion/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
		packaging/debian/control >"$root/DEBIAN/control"
	(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
	deb="$out/haproxystats_${debversion}_${arch}.deb"
	dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
	rm -rf "$root"
	trap - EXIT
	echo "$deb"
done
