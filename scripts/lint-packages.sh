#!/usr/bin/env bash
# Checks every publishable package as the registry would serve it: publint (package.json fields,
# exports, files; --strict turns its warnings into errors) and @arethetypeswrong/cli on the `npm pack`
# tarball (types resolve, and match the JavaScript, under node10, node16 CJS and ESM, and bundlers).
# Needs the build. Exits non-zero on the first package with a problem.
set -euo pipefail
cd "$(dirname "$0")/.."
for pkg in core express koa redis toolkit; do
  echo "lint:packages: @autom8/$pkg"
  npx --no-install publint --strict "packages/$pkg"
  npx --no-install attw --pack "packages/$pkg"
done
