#!/usr/bin/env node
// Executable entry of the conformance plugin: wires process I/O to runPlugin.
import { readFileSync } from 'node:fs';
import { runPlugin } from './plugin.js';

let stdin = '';
try {
  stdin = readFileSync(0, 'utf8');
} catch {
  stdin = '';
}
const result = runPlugin({ argv: process.argv.slice(2), stdin });
if (result.stdout.length > 0) process.stdout.write(result.stdout);
if (result.stderr.length > 0) process.stderr.write(result.stderr);
process.exitCode = result.exitCode;
