#!/usr/bin/env node
// Compiles src/ into dist/ (tsconfig.build.json), which `npm start` and the systemd unit run.
//
//   node scripts/build.cjs              build now (npm run build); a failure exits 1
//   node scripts/build.cjs --if-stale   build only when dist/ is missing or older than src/ (npm start
//                                       runs this first, so a fresh clone or a `git pull` never runs
//                                       stale code); a failure stops the start in one line
//   node scripts/build.cjs --on-install build after npm install / npm ci (the prepare script); a
//                                       failure is a warning, since npm start builds again
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, rmSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const dist = join(root, 'dist');
const mode = process.argv[2] ?? 'always';
if (!['always', '--if-stale', '--on-install'].includes(mode)) {
  console.error(`usage: node scripts/build.cjs [--if-stale | --on-install]`);
  process.exit(2);
}

/** The newest modification time under `path` (a directory's own time changes when a file goes). */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

/** Why dist/ must be built, or undefined when it is up to date. */
function staleness() {
  const built = join(dist, 'main.js');
  if (!existsSync(built)) return 'dist/ is missing';
  const sources = ['src', 'tsconfig.json', 'tsconfig.build.json'].map((name) => join(root, name));
  return Math.max(...sources.map(newest)) > statSync(built).mtimeMs
    ? 'src/ changed since the last build'
    : undefined;
}

/** Says why dist/ could not be built, the way the mode wants: a warning on install, else one line and exit 1. */
function fail(reason, remedy) {
  if (mode === '--on-install') {
    console.warn(`Keyhouse was not built: ${reason}. npm start builds it when it can.`);
    process.exit(0);
  }
  console.error(`${mode === '--if-stale' ? 'Keyhouse cannot start' : 'Build failed'}: ${reason}: ${remedy}`);
  process.exit(1);
}

const why = mode === '--if-stale' ? staleness() : undefined;
if (mode === '--if-stale' && why === undefined) process.exit(0);

let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
} catch {
  fail(
    `${why ? `${why}, and ` : ''}TypeScript (a dev dependency) is not installed to build it`,
    'run npm install, or npm run build where it is',
  );
}
if (why) console.log(`Building Keyhouse (${why})…`);
// Built afresh, so a file removed from src/ leaves nothing behind in dist/.
rmSync(dist, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0) fail('the TypeScript build failed', 'npm run build shows why');
