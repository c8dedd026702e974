#!/usr/bin/env node
// @ts-check
// The package dependency direction of the monorepo, checked from package.json files and the
// import statements of every package's src/, test/, bench/ and dev/: a package may depend
// (dependencies and devDependencies alike) only on packages of a lower layer, so the graph has
// no cycle; every @urgate import in src/ must be a declared dependency, one in test/, bench/ or
// dev/ a dependency or devDependency; no file reaches into another package's folder by a
// relative path or file URL (shared fixtures live in the private @urgate/test-support, node hooks
// in @urgate/source-hooks); no published
// package depends on a private one; and the packages that must install and load without tfjs
// may not reach it through their dependencies.
// `node tools/check-dependencies.mjs` prints one line per violation and exits 1 when there is one.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Lower layers first; a package may depend on packages of strictly lower layers only. Its tests,
 * benchmarks and dev tools (devDependencies) may also use a package beside it (onnx's tests check
 * the export against cells' reference), as long as no cycle forms.
 */
export const LAYERS = [
  [
    '@urgate/files',
    '@urgate/random',
    '@urgate/mpi',
    '@urgate/source-hooks',
    '@urgate/bench',
    '@urgate/test-checks',
  ],
  ['@urgate/contract', '@urgate/wikitext', '@urgate/tasks', '@urgate/learning-to-execute'],
  ['@urgate/cells', '@urgate/onnx'],
  ['@urgate/test-support'],
  ['@urgate/kernels', '@urgate/serve'],
  ['@urgate/rmc'],
  ['@urgate/train'],
  ['@urgate/experiments'],
  ['urgate'],
];

/** Packages that install and load without tfjs (the serving side and everything below it). */
export const TFJS_FREE = [
  '@urgate/files',
  '@urgate/source-hooks',
  '@urgate/random',
  '@urgate/mpi',
  '@urgate/contract',
  '@urgate/wikitext',
  '@urgate/tasks',
  '@urgate/learning-to-execute',
  '@urgate/onnx',
  '@urgate/serve',
];
const TFJS = /^@tensorflow\/tfjs/;

/** @typedef {{ file: string, pkg: string }} Import */
/**
 * @typedef {{
 *   name: string, dir: string, private: boolean,
 *   dependencies: string[], devDependencies: string[],
 *   imports: Import[], devImports: Import[], pathImports: Import[]
 * }} WorkspacePackage
 * imports: of src/; devImports: of test/, bench/, dev/; pathImports: relative imports of any of
 * them, `pkg` being the folder they resolve into (relative to the root).
 */

/** Folders whose files may import devDependencies. */
const DEV_DIRS = ['test', 'bench', 'dev'];

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
/** A file named by a relative URL (`new URL('../x.mjs', import.meta.url)`): a path like an import's. */
const RELATIVE_URL = /new URL\(\s*['"](\.{1,2}\/[^'"]*)['"]\s*,\s*import\.meta\.url\s*\)/g;

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
 * Reads the workspace: packages with their dependencies, and the imports of their src/ and of
 * their test/, bench/ and dev/.
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
    /** @type {Record<string, string>} */
    const files = {};
    for (const sub of ['src', ...DEV_DIRS])
      try {
        for (const f of sourceFiles(join(root, 'packages', dir, sub)))
          files[relative(root, f)] = readFileSync(f, 'utf8');
      } catch {}
    for (const [f, text] of Object.entries(extraFiles))
      if (f.startsWith(`packages/${dir}/`)) files[f] = text;
    /** @type {Import[]} */
    const imports = [];
    /** @type {Import[]} */
    const devImports = [];
    /** @type {Import[]} */
    const pathImports = [];
    for (const [file, text] of Object.entries(files)) {
      const inSrc = file.startsWith(`packages/${dir}/src/`);
      for (const m of text.matchAll(IMPORT)) {
        const specifier = m[1] ?? m[2];
        const pkg = packageOf(specifier);
        if (pkg) (inSrc ? imports : devImports).push({ file, pkg });
        else if (specifier.startsWith('.'))
          pathImports.push({ file, pkg: relative(root, resolve(root, dirname(file), specifier)) });
      }
      for (const [, path] of text.matchAll(RELATIVE_URL))
        pathImports.push({ file, pkg: relative(root, resolve(root, dirname(file), path)) });
    }
    packages.push({
      name: json.name,
      dir: `packages/${dir}`,
      private: json.private === true,
      dependencies: Object.keys(json.dependencies ?? {}),
      devDependencies: Object.keys(json.devDependencies ?? {}),
      imports,
      devImports,
      pathImports,
    });
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
  for (const p of packages) {
    const own = layer.get(p.name);
    if (own === undefined) continue;
    for (const dep of p.devDependencies.filter((d) => byName.has(d))) {
      const theirs = layer.get(dep);
      if (theirs !== undefined && theirs > own)
        out.push(
          `${p.name} devDepends on ${dep}: a package's tests use packages below or beside it, not above`,
        );
    }
    for (const dep of p.dependencies)
      if (!p.private && byName.get(dep)?.private)
        out.push(`${p.name} depends on the private ${dep}: list it in devDependencies`);
    for (const { file, pkg } of p.devImports) {
      if (pkg === p.name || !byName.has(pkg)) continue;
      if (!p.dependencies.includes(pkg) && !p.devDependencies.includes(pkg))
        out.push(`${file} imports ${pkg}, which is not a dependency or devDependency of ${p.name}`);
      else if ((layer.get(pkg) ?? -1) > own)
        out.push(`${file} imports ${pkg}: a wrong-way import (${p.name} is below it)`);
    }
    for (const { file, pkg: target } of p.pathImports) {
      const other = packages.find((q) => q !== p && `${target}${sep}`.startsWith(`${q.dir}${sep}`));
      if (other)
        out.push(
          `${file} reaches into ${other.dir}/ by a relative path; import ${other.name} by name (shared test fixtures: @urgate/test-support)`,
        );
    }
  }
  // No cycle through dependencies and devDependencies (the layers imply it; this names one).
  /** @type {Map<string, number>} 1: on the current path, 2: done */
  const state = new Map();
  /** @type {(name: string, path: string[]) => string[] | null} */
  const cycleFrom = (name, path) => {
    if (state.get(name) === 2) return null;
    if (state.get(name) === 1) return [...path.slice(path.indexOf(name)), name];
    state.set(name, 1);
    const p = byName.get(name);
    for (const dep of [...(p?.dependencies ?? []), ...(p?.devDependencies ?? [])].filter((d) =>
      byName.has(d),
    )) {
      const cycle = cycleFrom(dep, [...path, name]);
      if (cycle) return cycle;
    }
    state.set(name, 2);
    return null;
  };
  for (const p of packages) {
    const cycle = cycleFrom(p.name, []);
    if (cycle) {
      out.push(`dependency cycle: ${cycle.join(' -> ')}`);
      break;
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
