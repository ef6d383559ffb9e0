#!/usr/bin/env bash
# A dry run of the release's publish step, `lerna publish from-package`: lerna picks the packages,
# runs their pack lifecycle and packs them exactly as it would, and skips the upload. lerna has no
# --dry-run flag of its own; it hands npm's `dry-run` config (here from the environment) to
# libnpmpublish, which then does not send the tarball. The registry is a closed local port besides,
# so nothing can reach npm even if a future lerna ignored the setting: every package looks unpublished
# and is packed. Needs the build. lerna prints "Successfully published" regardless: nothing was.
set -euo pipefail
cd "$(dirname "$0")/.."
npm_config_dry_run=true npx --no-install lerna publish from-package --yes --no-progress \
  --registry http://127.0.0.1:9/ --loglevel warn
