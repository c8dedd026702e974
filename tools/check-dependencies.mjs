#!/usr/bin/env node
// @ts-check
// The package dependency direction of the monorepo, checked from package.json files and the
// import statements of every package's src/: a package may depend only on packages of a lower
// layer, every @urgate import in src/ must be a declared dependency, and the packages that
// must install and load without tfjs may not reach it through their dependencies.
// `node tools/check-dependencies.mjs` prints one line per violation and exits 1 when there is one.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Lower layers first; a package may depend on packages of strictly lower layers only. */
export const LAYERS = [
  ['@urgate/files', '@urgate/random'],
  ['@urgate/spec', '@urgate/wikitext', '@urgate/tasks', '@urgate/learning-to-execute'],
  ['@urgate/cells', '@urgate/onnx'],
  ['@urgate/kernels', '@urgate/serve'],
  ['@urgate/rmc'],
  ['@urgate/train'],
  ['@urgate/experiments'],
  ['urgate'],
];

/** Packages that install and load without tfjs (the serving side and everything below it). */
export const TFJS_FREE = [
  '@urgate/files',
  '@urgate/random',
  '@urgate/spec',
  '@urgate/wikitext',
  '@urgate/tasks',
  '@urgate/learning-to-execute',
  '@urgate/onnx',
  '@urgate/serve',
];
const TFJS = /^@tensorflow\/tfjs/;

/** @typedef {{ file: string, pkg: string }} Import */
/** @typedef {{ name: string, dependencies: string[], imports: Import[] }} WorkspacePackage */

/** @param {string} dir @returns {string[]} */
function sourceFiles(dir) {
  /** @type {string[]} */
  let out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(sourceFiles(path));
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const IMPORT =
  /(?:^|[^\w.])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[^\w.])import\s*\(?\s*['"]([^'"]+)['"]/gm;

/**
 * The package a specifier names: '@scope/name/sub' -> '@scope/name', 'name/sub' -> 'name'.
 * @param {string} specifier
 * @returns {string | null}
 */
function packageOf(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('node:')) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Reads the workspace: packages with their dependencies, and the imports of their src/.
 * @param {string} root
 * @param {Record<string, string>} [extraFiles] more source files, by path (tests)
 * @returns {WorkspacePackage[]}
 */
export function readWorkspace(root, extraFiles = {}) {
  /** @type {WorkspacePackage[]} */
  const packages = [];
  for (const dir of readdirSync(join(root, 'packages'))) {
    const manifest = join(root, 'packages', dir, 'package.json');
    let json;
    try {
      json = JSON.parse(readFileSync(manifest, 'utf8'));
    } catch {
      continue; // not a package (packages/node_modules)
    }
    const src = join(root, 'packages', dir, 'src');
    /** @type {Record<string, string>} */
    const files = {};
    try {
      for (const f of sourceFiles(src)) files[relative(root, f)] = readFileSync(f, 'utf8');
    } catch {}
    for (const [f, text] of Object.entries(extraFiles))
      if (f.startsWith(`packages/${dir}/src/`)) files[f] = text;
    /** @type {Import[]} */
    const imports = [];
    for (const [file, text] of Object.entries(files))
      for (const m of text.matchAll(IMPORT)) {
        const pkg = packageOf(m[1] ?? m[2]);
        if (pkg) imports.push({ file, pkg });
      }
    packages.push({ name: json.name, dependencies: Object.keys(json.dependencies ?? {}), imports });
  }
  return packages;
}

/**
 * One line per violation of the rules above.
 * @param {WorkspacePackage[]} packages
 * @returns {string[]}
 */
export function dependencyViolations(packages) {
  const layer = new Map(
    LAYERS.flatMap((names, k) => names.map((n) => /** @type {[string, number]} */ ([n, k]))),
  );
  const byName = new Map(packages.map((p) => [p.name, p]));
  /** @type {string[]} */
  const out = [];
  for (const p of packages) {
    const own = layer.get(p.name);
    if (own === undefined) {
      out.push(`${p.name}: not in the layer table of tools/check-dependencies.mjs`);
      continue;
    }
    for (const dep of p.dependencies.filter((d) => byName.has(d))) {
      const theirs = layer.get(dep);
      if (theirs !== undefined && theirs >= own)
        out.push(`${p.name} depends on ${dep}: dependencies run from lower layers to higher only`);
    }
    for (const { file, pkg } of p.imports) {
      if (pkg === p.name) continue;
      if (byName.has(pkg) && !p.dependencies.includes(pkg))
        out.push(`${file} imports ${pkg}, which is not a dependency of ${p.name}`);
      else if (byName.has(pkg) && (layer.get(pkg) ?? -1) >= own)
        out.push(`${file} imports ${pkg}: a wrong-way import (${p.name} is below or beside it)`);
      if (TFJS_FREE.includes(p.name) && TFJS.test(pkg))
        out.push(`${file} imports ${pkg}, but ${p.name} must load without tfjs`);
    }
  }
  // tfjs-free packages must not reach tfjs through their dependencies either.
  /** @type {(name: string, seen?: Set<string>) => string[] | null} */
  const reachesTfjs = (name, seen = new Set()) => {
    const p = byName.get(name);
    if (!p || seen.has(name)) return null;
    seen.add(name);
    for (const dep of p.dependencies) {
      if (TFJS.test(dep)) return [name, dep];
      const via = reachesTfjs(dep, seen);
      if (via) return [name, ...via];
    }
    return null;
  };
  for (const name of TFJS_FREE) {
    const path = reachesTfjs(name);
    if (path) out.push(`${name} reaches tfjs through ${path.join(' -> ')}`);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
  const violations = dependencyViolations(readWorkspace(root));
  for (const v of violations) process.stderr.write(`check-dependencies: ${v}\n`);
  process.exitCode = violations.length > 0 ? 1 : 0;
}
