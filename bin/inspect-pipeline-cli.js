#!/usr/bin/env node
'use strict';
// The `inspect-pipeline` command: runs the TypeScript CLI (cli/main.ts) through tsx's CommonJS register hook.
require('tsx/cjs');
require('../cli/main.ts').runFromCommandLine();
