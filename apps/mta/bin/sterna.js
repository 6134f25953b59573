#!/usr/bin/env node
// The `sterna` command: runs the compiled daemon (`pnpm build` makes dist/).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then((code) => process.exit(code));
