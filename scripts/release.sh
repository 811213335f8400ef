#!/usr/bin/env bash
# scripts/release.sh [-f FORMATS] [-a ARCHS] OUTDIR: the release files of
# this tree, in OUTDIR, one line each on stdout:
#   haproxystats_<debversion>_<arch>.deb              (amd64, arm64)
#   haproxystats-<debversion>-1.<rpmarch>.rpm         (x86_64, aarch64)
#   haproxystats-<version>-linux-<arch>.tar.gz        (amd64, arm64)
#   SHA256SUMS                                        of the files above
# FORMATS is a list of deb, rpm and tar (all three by default), ARCHS of
# amd64 and arm64 (both by default). VERSION and COMMIT default to git's
# (as the Makefile's), SOURCE_DATE_EPOCH to the commit's time.
#
# Reproducible: the same commit gives the same bytes, wherever the clone
# is and whenever it is built, given the same Go toolchain (go.mod's),
# the same nfpm (scripts/release/go.mod's), GNU tar and gzip. Nothing
# here reads the clock, the clone's path, the host's name, the user or the
# umask: the binaries are built with -trimpath and no VCS stamp but the
# version and commit given; every file gets its mode here and
# SOURCE_DATE_EPOCH as its mtime; archives are sorted by name and owned
# by root (0:0); gzip writes no name or time (-n).
#
# The packages are written by nfpm from one description,
# packaging/nfpm.yaml (see docs/install.md for why nfpm): the same files,
# conffile and users in the deb and the rpm, Debian's maintainer scripts
# (packaging/debian/) in one, RPM's (packaging/rpm/) in the other.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin:/usr/local/go/bin"
export LC_ALL=C TZ=UTC
umask 022
cd "$(dirname "$0")/.."
GO=${GO:-go}

usage() {
	echo "usage: scripts/release.sh [-f 'deb rpm tar'] [-a 'amd64 arm64'] OUTDIR" >&2
	exit 2
}
formats="deb rpm tar" archs="amd64 arm64"
while getopts f:a: opt; do
	case $opt in
	f) formats=$OPTARG ;;
	a) archs=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
out=$1
for f in $formats; do case $f in deb | rpm | tar) ;; *) echo "release: format $f: deb, rpm or tar" >&2; exit 2 ;; esac; done
for a in $archs; do case $a in amd64 | arm64) ;; *) echo "release: architecture $a: amd64 or arm64" >&2; exit 2 ;; esac; done

version=${VERSION:-$(git describe --tags --dirty 2>/dev/null ||
	(c=$(git rev-parse --short HEAD) && echo "0.6.0-dev-g$c$(git diff --quiet HEAD || echo -dirty)"))}
commit=${COMMIT:-$(git rev-parse HEAD)}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export SOURCE_DATE_EPOCH
case $version in *-dirty) echo "release: the tree has uncommitted changes ($version): these files are not those of a commit" >&2 ;; esac
version=${version#v}
# Debian's version of git describe: 0.6.0-dev-g1a2b3c4 → 0.6.0~dev+g1a2b3c4
# (~ sorts before the release, + keeps the commit; no "-": native). RPM
# reads ~ and + the same way, so both packages carry this one.
debversion=$(echo "$version" | sed -e 's/-dev/~dev/' -e 's/-/+/g')

# The Go toolchain go.mod names (its toolchain line, else its go line),
# whatever go is on the PATH: the binaries carry the compiler's output,
# so a release is reproduced with the same one. Go fetches it through the
# module proxy when the local go is another version.
toolchain=$(awk '$1 == "toolchain" { print $2 }' go.mod)
export GOTOOLCHAIN=${toolchain:-go$(awk '$1 == "go" { print $2 }' go.mod)}

work=$(mktemp -d "${TMPDIR:-/tmp}/haproxystats-release.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# nfpm at the version scripts/release/go.mod pins (its own module, so
# that the daemons' go.mod does not carry a packager's dependencies).
case " $formats " in *" deb "* | *" rpm "*)
	$GO build -C scripts/release -o "$work/nfpm" github.com/goreleaser/nfpm/v2/cmd/nfpm
	;;
esac

# stamp DIR: every file and directory under DIR gets SOURCE_DATE_EPOCH as
# its mtime (nfpm takes a tree's mtimes from the files).
stamp() { find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +; }

# installdir SRC DST: SRC's files (mode 644) and directories (755) in DST.
installdir() {
	(cd "$1" && find . -type d -printf '%P\n' && find . -type f -printf '%P\n') | while read -r p; do
		if [ -d "$1/$p" ]; then install -d -m 755 "$2/$p"; else install -D -m 644 "$1/$p" "$2/$p"; fi
	done
}

built=()
for arch in $archs; do
	stage=$work/$arch
	install -d -m 755 "$stage/bin" "$stage/units" "$stage/man" "$stage/deb-doc/grafana" "$stage/rpm-doc/grafana"
	# Position-independent (ASLR, as Debian builds its Go packages), no
	# cgo, stripped, without the build's paths; the baseline instruction
	# set of each architecture whatever GOAMD64/GOARM64 the caller has.
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch GOAMD64=v1 GOARM64=v8.0 GOFLAGS= \
		$GO build -trimpath -buildvcs=false -buildmode=pie \
		-ldflags "-s -w -X github.com/haproxystats-go/haproxystats/internal/cli.Version=$version -X github.com/haproxystats-go/haproxystats/internal/cli.Commit=$commit" \
		-o "$stage/bin/" ./cmd/...
	chmod 755 "$stage"/bin/*
	for unit in contrib/systemd/*.service; do
		name=$(basename "$unit" .service)
		sed -e 's|/usr/local/bin/|/usr/bin/|' \
			-e "s|^Documentation=\(.*\)|Documentation=man:$name(8) \1|" \
			"$unit" >"$stage/units/$name.service"
		chmod 644 "$stage/units/$name.service"
	done
	for page in contrib/man/*.8; do
		gzip -9n <"$page" >"$stage/man/$(basename "$page").gz"
	done
	chmod 644 "$stage"/man/*
	# Debian's documentation directory, and RPM's.
	gzip -9n <README.md >"$stage/deb-doc/README.md.gz"
	sed -e "s/@VERSION@/$debversion/" -e "s/@DATE@/$(date -u -R -d "@$SOURCE_DATE_EPOCH")/" \
		packaging/debian/changelog | gzip -9n >"$stage/deb-doc/changelog.gz"
	install -m 644 packaging/debian/copyright "$stage/deb-doc/copyright"
	chmod 644 "$stage"/deb-doc/*.gz
	install -m 644 README.md "$stage/rpm-doc/README.md"
	# The manual the README links to: docs/*.md (compressed as Debian
	# compresses documentation) and its pictures.
	install -d -m 755 "$stage/deb-doc/docs" "$stage/rpm-doc/docs"
	for md in docs/*.md; do
		gzip -9n <"$md" >"$stage/deb-doc/docs/$(basename "$md").gz"
		install -m 644 "$md" "$stage/rpm-doc/docs/"
	done
	chmod 644 "$stage"/deb-doc/docs/*.gz
	install -m 644 docs/*.png "$stage/deb-doc/docs/"
	install -m 644 docs/*.png "$stage/rpm-doc/docs/"
	for doc in deb-doc rpm-doc; do
		install -m 644 contrib/grafana/*.json "$stage/$doc/grafana/"
		# The alert rules, when the tree has them.
		if [ -d contrib/prometheus ]; then installdir contrib/prometheus "$stage/$doc/prometheus"; fi
	done
	stamp "$stage"

	for format in $formats; do
		case $format in
		deb) file=$out/haproxystats_${debversion}_$arch.deb ;;
		rpm)
			rpmarch=$arch
			case $arch in amd64) rpmarch=x86_64 ;; arm64) rpmarch=aarch64 ;; esac
			file=$out/haproxystats-$debversion-1.$rpmarch.rpm
			;;
		tar) continue ;;
		esac
		ARCH=$arch STAGE=$stage VERSION=$debversion \
			"$work/nfpm" package --config packaging/nfpm.yaml --packager "$format" --target "$file" >/dev/null
		built+=("$file")
	done

	case " $formats " in *" tar "*)
		# For an install by hand under /usr/local (docs/install.md): the
		# units as in contrib/systemd, run /usr/local/bin's binaries.
		name=haproxystats-$version-linux-$arch
		dir=$work/tar/$name
		install -d -m 755 "$dir/bin" "$dir/systemd" "$dir/man/man8" "$dir/grafana"
		install -m 755 "$stage"/bin/* "$dir/bin/"
		install -m 644 contrib/systemd/*.service "$dir/systemd/"
		install -m 644 contrib/man/*.8 "$dir/man/man8/"
		install -m 644 contrib/grafana/*.json "$dir/grafana/"
		if [ -d contrib/prometheus ]; then installdir contrib/prometheus "$dir/prometheus"; fi
		install -m 644 haproxystats.conf.example LICENSE README.md "$dir/"
		install -d -m 755 "$dir/docs"
		install -m 644 docs/*.md docs/*.png "$dir/docs/"
		file=$out/$name.tar.gz
		tar --sort=name --format=gnu --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
			-C "$work/tar" -cf - "$name" | gzip -9n >"$file"
		built+=("$file")
		;;
	esac
done

# The checksums of what this run built, by file name (sha256sum -c
# SHA256SUMS in OUTDIR checks them).
names=()
for f in "${built[@]}"; do names+=("$(basename "$f")"); done
(cd "$out" && sha256sum -- "${names[@]}") >"$out/SHA256SUMS"
printf '%s\n' "${built[@]}" "$out/SHA256SUMS"
