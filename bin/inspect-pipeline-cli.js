#!/usr/bin/env node

// The operator CLI from source (cli/main.ts, through tsx's CommonJS register hook), from any folder; the package's
// `inspect-pipeline` bin is the compiled dist/cli/inspect-pipeline.js.
require('tsx/cjs');
require('../cli/main.ts').runFromCommandLine();
