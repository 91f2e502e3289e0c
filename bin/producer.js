#!/usr/bin/env node
import module from "node:module";

// Node 22.1+ keeps V8's compiled code of every module on disk between runs; Node 20 has no such
// call and skips it. Made before the CLI is imported, so that it covers all of it.
module.enableCompileCache?.();

const { main } = await import("../dist/cli-bundle/main.js");
process.exitCode = await main(process.argv.slice(2));
