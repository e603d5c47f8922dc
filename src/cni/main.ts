#!/usr/bin/env node
// The `tabby-cni` executable: Node's on-disk compile cache first (Node 22.1 and later; the
// image runs Node 24), as the `tabby` launcher does, so every later container start skips
// compiling the plugin's modules; then the plugin (cni-main.ts).
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { runPlugin } = await import('./cni-main.js');
runPlugin();
