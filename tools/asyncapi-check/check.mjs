#!/usr/bin/env node
// Validates AsyncAPI documents with the ecosystem's own parser (@asyncapi/parser, pinned in
// package.json) and prints every diagnostic it reports.
//
//   node check.mjs [FILE-OR-GLOB ...]
//
// With no arguments it checks docs/api/*.asyncapi.json relative to the repository root (two
// directories above this file). Arguments are paths relative to the current directory; an
// argument containing `*` or `?` in its last component is expanded here, so a quoted pattern works
// as well as one the shell has expanded.
//
// Exit status: 0 when every document parses with no error-severity diagnostic (warnings, infos
// and hints are printed but allowed); 1 when any document has an error diagnostic, cannot be read
// or parsed, or when no document was found at all (a check that checks nothing fails); 2 on a
// usage error.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const DEFAULT_PATTERN = 'docs/api/*.asyncapi.json';

const SEVERITY_NAMES = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

function usage() {
  return 'usage: node check.mjs [FILE-OR-GLOB ...]\n' +
    `  with no arguments: ${DEFAULT_PATTERN} under ${repoRoot}`;
}

// Expands a pattern whose wildcards (`*`, `?`) are in its last path component only; a path without
// wildcards is returned as it is (a missing file is reported when it is read, not dropped here).
function expand(pattern, base) {
  const absolute = path.resolve(base, pattern);
  const dir = path.dirname(absolute);
  const name = path.basename(absolute);
  if (/[*?]/.test(dir)) {
    throw new Error(`wildcards are supported in the last path component only: ${pattern}`);
  }
  if (!/[*?]/.test(name)) {
    return [absolute];
  }
  const regex = new RegExp('^' + name
    .split('')
    .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('') + '$');
  let entries;
  try {
    entries = readdirSync(dir);
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
    throw err;
  }
  return entries
    .filter((entry) => regex.test(entry) && !entry.startsWith('.'))
    .map((entry) => path.join(dir, entry))
    .filter((file) => statSync(file).isFile())
    .sort();
}

function formatPath(p) {
  if (!Array.isArray(p) || p.length === 0) return '#';
  return '#/' + p.map((seg) => String(seg).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

function formatDiagnostic(d) {
  const severity = SEVERITY_NAMES[d.severity] ?? `severity ${d.severity}`;
  const where = d.range && d.range.start
    ? `:${d.range.start.line + 1}:${d.range.start.character + 1}`
    : '';
  const code = d.code !== undefined && d.code !== '' ? ` [${d.code}]` : '';
  const source = d.source ? ` (in ${d.source})` : '';
  return `  ${severity} (${d.severity})${code} at ${formatPath(d.path)}${where}${source}: ${d.message}`;
}

async function checkFile(parser, file, display) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    console.log(`FAIL ${display}: cannot read: ${err.message}`);
    return false;
  }
  let output;
  try {
    output = await parser.parse(text, { source: file });
  } catch (err) {
    console.log(`FAIL ${display}: the parser threw: ${err && err.stack ? err.stack : err}`);
    return false;
  }
  const diagnostics = [...(output.diagnostics ?? [])]
    .sort((a, b) => a.severity - b.severity);
  const counts = { error: 0, warning: 0, info: 0, hint: 0 };
  for (const d of diagnostics) {
    const name = SEVERITY_NAMES[d.severity];
    if (name) counts[name] += 1;
  }
  const hasError = diagnostics.some((d) => d.severity === DiagnosticSeverity.Error);
  const parsed = output.document !== undefined;
  const ok = parsed && !hasError;
  const version = parsed ? ` (AsyncAPI ${output.document.version()})` : '';
  const summary = `${counts.error} error(s), ${counts.warning} warning(s), ` +
    `${counts.info} info, ${counts.hint} hint(s)`;
  const reason = ok ? '' : hasError ? '' : ': the parser produced no document';
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${display}${version}: ${summary}${reason}`);
  for (const d of diagnostics) {
    console.log(formatDiagnostic(d));
  }
  return ok;
}

async function main(argv) {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(usage());
    return 0;
  }
  const unknown = argv.find((a) => a.startsWith('-'));
  if (unknown) {
    console.error(`unknown option: ${unknown}\n${usage()}`);
    return 2;
  }
  const [patterns, base] = argv.length > 0
    ? [argv, process.cwd()]
    : [[DEFAULT_PATTERN], repoRoot];

  const files = [];
  for (const pattern of patterns) {
    for (const file of expand(pattern, base)) {
      if (!files.includes(file)) files.push(file);
    }
  }
  if (files.length === 0) {
    console.log(`FAIL: no AsyncAPI documents found (looked for ${patterns.join(', ')} ` +
      `relative to ${base}); a check that checks nothing fails`);
    return 1;
  }

  const parser = new Parser();
  let failed = 0;
  for (const file of files) {
    const display = path.relative(process.cwd(), file) || file;
    if (!(await checkFile(parser, file, display))) failed += 1;
  }
  const passed = files.length - failed;
  console.log(`checked ${files.length} document(s) with @asyncapi/parser ${parserVersion()}`);
  console.log(`asyncapi-check: ${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

function parserVersion() {
  try {
    const manifest = path.join(here, 'node_modules', '@asyncapi', 'parser', 'package.json');
    return JSON.parse(readFileSync(manifest, 'utf8')).version;
  } catch {
    return 'unknown version';
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    console.error(`asyncapi-check: ${err && err.stack ? err.stack : err}`);
    process.exitCode = 1;
  },
);
