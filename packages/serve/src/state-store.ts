// Named states on disk: the state a request reached, saved under a name so that a later request
// (after a restart too) continues from it. One JSON file per state, written atomically
// (@urgate/files) and checksummed; a file that does not verify is refused by name.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sweepStaleTemps, writeFileAtomic } from '@urgate/files';
import type { RowState } from '@urgate/onnx/runtime';

const SUFFIX = '.state.json';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** What a state file must match to be continued by this server's model. */
export interface StateModel {
  /** sha256 of the checkpoint the model was exported from. */
  sha256: string;
  numLayers: number;
  hiddenSize: number;
  cellState: boolean;
}

/** A saved state: `tokens` is the sequence so far, of which the state has read the first `read`. */
export interface SavedState {
  name: string;
  tokens: number[];
  read: number;
  state: RowState;
  created: string;
}

interface StateFile {
  format: 'urgate-state';
  version: 1;
  name: string;
  model: StateModel;
  created: string;
  read: number;
  tokens: number[];
  /** float32 little-endian, base64: `[L, d]` row-major. */
  h: string;
  c: string | null;
  /** sha256 (hex) of this object's JSON without this field. */
  sha256: string;
}

/** A state name the API cannot use, or a file that does not verify: answered 400 / 404 / 422. */
export class StateError extends Error {
  constructor(
    readonly status: 400 | 404 | 422,
    message: string,
  ) {
    super(message);
  }
}

const floats = (a: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

function unfloats(text: string, length: number, what: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.byteLength !== 4 * length)
    throw new Error(`${what} holds ${bytes.byteLength / 4} floats, expected ${length}`);
  return new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
}

function digest(body: Omit<StateFile, 'sha256'>): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

export class StateStore {
  private constructor(
    readonly dir: string,
    private readonly model: StateModel,
  ) {}

  /** Opens (creating) the directory and removes temporary files an interrupted write left. */
  static async open(dir: string, model: StateModel): Promise<StateStore> {
    await mkdir(dir, { recursive: true });
    sweepStaleTemps(dir);
    return new StateStore(dir, model);
  }

  /** Refuses a name that is not 1–64 letters, digits, `.`, `_`, `-` (starting with a letter or digit). */
  static checkName(name: string, field: string): void {
    if (!NAME.test(name))
      throw new StateError(
        400,
        `${field}: ${JSON.stringify(name)} is not a state name (1-64 letters, digits, ".", "_", "-"; starting with a letter or digit)`,
      );
  }

  private path(name: string): string {
    return join(this.dir, `${name}${SUFFIX}`);
  }

  async save(
    name: string,
    tokens: readonly number[],
    read: number,
    state: RowState,
  ): Promise<SavedState> {
    StateStore.checkName(name, 'save_state');
    const created = new Date().toISOString();
    const body: Omit<StateFile, 'sha256'> = {
      format: 'urgate-state',
      version: 1,
      name,
      model: this.model,
      created,
      read,
      tokens: [...tokens],
      h: floats(state.h),
      c: state.c ? floats(state.c) : null,
    };
    await writeFileAtomic(
      this.path(name),
      `${JSON.stringify({ ...body, sha256: digest(body) })}\n`,
    );
    return { name, tokens: [...tokens], read, state, created };
  }

  /** The saved state `name`; 404 when there is none, 422 naming the file when it does not verify. */
  async load(name: string): Promise<SavedState> {
    StateStore.checkName(name, 'from_state');
    const path = this.path(name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      throw new StateError(
        404,
        `from_state: no saved state named ${JSON.stringify(name)} (GET /v1/states lists them)`,
      );
    }
    try {
      return this.parse(name, text);
    } catch (e) {
      throw new StateError(
        422,
        `state file ${path} is damaged or not this model's: ${(e as Error).message}; delete it (DELETE /v1/states/${name}) and save it again`,
      );
    }
  }

  private parse(name: string, text: string): SavedState {
    const file = JSON.parse(text) as StateFile;
    if (file?.format !== 'urgate-state' || file.version !== 1)
      throw new Error('not an urgate state file (format "urgate-state", version 1)');
    const { sha256, ...body } = file;
    if (digest(body) !== sha256) throw new Error('its sha256 does not match its contents');
    if (file.name !== name) throw new Error(`it holds the state ${JSON.stringify(file.name)}`);
    const m = file.model;
    if (
      m.sha256 !== this.model.sha256 ||
      m.numLayers !== this.model.numLayers ||
      m.hiddenSize !== this.model.hiddenSize ||
      m.cellState !== this.model.cellState
    )
      throw new Error(
        `it was saved from another model (checkpoint sha256 ${String(m.sha256).slice(0, 12)}, served ${this.model.sha256.slice(0, 12)})`,
      );
    const n = m.numLayers * m.hiddenSize;
    if (!(Number.isInteger(file.read) && file.read >= 1 && file.read < file.tokens.length))
      throw new Error(`read = ${file.read} is not within its ${file.tokens.length} tokens`);
    return {
      name,
      tokens: file.tokens,
      read: file.read,
      state: { h: unfloats(file.h, n, 'h'), c: file.c === null ? null : unfloats(file.c, n, 'c') },
      created: file.created,
    };
  }

  /** Every state file, in name order; a file that does not verify is listed with its error. */
  async list(): Promise<({ name: string; error: string } | SavedState)[]> {
    const names = (await readdir(this.dir))
      .filter((f) => f.endsWith(SUFFIX))
      .map((f) => f.slice(0, -SUFFIX.length))
      .sort();
    return Promise.all(
      names.map(async (name) => {
        try {
          return await this.load(name);
        } catch (e) {
          return { name, error: (e as Error).message };
        }
      }),
    );
  }

  /** Deletes the state `name`; false when there was none. */
  async delete(name: string): Promise<boolean> {
    StateStore.checkName(name, 'name');
    try {
      await rm(this.path(name));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }
}
