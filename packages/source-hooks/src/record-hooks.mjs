import { appendFileSync } from 'node:fs';

let logFile;

export function initialize(data) {
  logFile = data;
}

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(logFile, `${resolved.url}\n`);
  return resolved;
}
