#!/usr/bin/env node
// The `tabby` executable. It turns on Node's on-disk compile cache (Node 22.1 and later;
// the image runs Node 24) before anything else loads, so later runs skip compiling yargs
// and Tabby's modules, then starts the CLI (cli.ts).
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { runCli } = await import('./cli.js');
runCli();
