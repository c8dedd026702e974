/** `node ...fromSource file.ts`: esbuild-transpiled sources, the `@urgate/source` export condition. */
export declare const fromSource: readonly string[];
/**
 * `spawn(process.execPath, [...r.args, file.ts], { env: r.env })` runs from source and appends
 * every module URL the process and its threads resolve to `log`; read them with recordedModules.
 */
export declare function recordingModules(log: string): { args: string[]; env: NodeJS.ProcessEnv };
/** The module URLs recorded in `log`. */
export declare function recordedModules(log: string): string[];
