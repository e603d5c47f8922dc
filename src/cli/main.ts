#!/usr/bin/env -S node --max-semi-space-size=1 --heap-growing-percent=20
// The `tabby` executable. It turns on Node's on-disk compile cache (Node 22.1 and later;
// the image runs Node 24) before anything else loads, so later runs skip compiling yargs
// and Tabby's modules, then starts the CLI (cli.ts).
// The V8 flags above are for the agent (`tabby node run`), a long-running daemon with
// bursty allocation: a small young generation and tight old-generation growth keep its
// peak RSS near its live heap at no measurable CPU cost. They take effect when tabby is
// run as a program, as deployed.
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { runCli } = await import('./cli.js');
runCli();
