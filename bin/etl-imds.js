#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

main().catch((e) => {
  process.stderr.write(`etl-imds: error: ${e && e.message ? e.message : e}\n`);
  process.exitCode = 2;
});
