#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given version (default: the current LTS line's release
# CI also tests on), fetched once from the npm registry's node-linux-<arch> package into
# ~/.cache/autom8-node. The machine's own Node stays the default everywhere else.
#   NODE=$(bash scripts/fetch-node.sh) && "$NODE" scripts/run-tests.mjs
set -euo pipefail
version="${1:-24.21.0}"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "fetch-node: no npm package of Node.js for $(uname -m)" >&2; exit 1 ;;
esac
dir="${XDG_CACHE_HOME:-$HOME/.cache}/autom8-node/$version"
if [ ! -x "$dir/bin/node" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$version" >/dev/null && tar xzf node-linux-*.tgz)
  mkdir -p "$dir"
  cp -r "$tmp/package/bin" "$dir/"
fi
"$dir/bin/node" --version >/dev/null
echo "$dir/bin/node"
