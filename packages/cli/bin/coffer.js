#!/usr/bin/env node
// A committed shim, so npm links the `coffer` command before the TypeScript build has run.
import '../dist/main.js';
