#!/usr/bin/env bash
# Type-checks every test project: each tsconfig.json under test/ and packages/*/test/. They are not
# part of `tsc -b` (the tests run through tsx, which strips types unchecked), so without this their
# drift from the public API shows only when a test fails at run time. Needs the build: the tests
# import @autom8/* from dist. Checks them all, then exits non-zero if any had an error.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=()
mapfile -t configs < <(find test packages/*/test -name node_modules -prune -o -name tsconfig.json -print | sort)
for config in "${configs[@]}"; do
  dir="$(dirname "$config")"
  echo "typecheck:tests: $dir"
  npx --no-install tsc -p "$dir" --noEmit || failed+=("$dir")
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "typecheck:tests: type errors in ${failed[*]}"
  exit 1
fi
