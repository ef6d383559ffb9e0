#!/usr/bin/env node
// The `autom8` command. A source file (not dist/) so npm links it even before the first build.
require('../dist/cli/main.js');
