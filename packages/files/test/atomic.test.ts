import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AtomicStreamWriter,
  FileWriteError,
  isTempName,
  sweepStaleTemps,
  tempPathFor,
  writeFileAtomic,
  writeFileAtomicSync,
  writeJsonAtomic,
} from '../src/index.js';

const scratch = () => mkdtempSync(join(tmpdir(), 'urgate-files-'));

/** The pid of a process that has exited (its temporary files are stale). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('atomic writes', () => {
  it('a failed write names what was written, where, why and what is left', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'plain'), 'x');
    const under = join(dir, 'plain', 'ckpt.safetensors'); // its parent is a file
    const failure = writeFileAtomic(under, 'data', 'checkpoint');
    await expect(failure).rejects.toThrow(
      `writing checkpoint ${under}: file already exists; no checkpoint was left there`,
    );
    await expect(failure).rejects.toBeInstanceOf(FileWriteError);
    await expect(failure).rejects.toMatchObject({ code: 'EEXIST', path: under });
    expect(() => writeFileAtomicSync(under, 'data')).toThrow(`writing file ${under}: `);
  });

  it('write the whole content under the final name and leave no temporary file', async () => {
    const dir = scratch();
    await writeFileAtomic(join(dir, 'a', 'x.bin'), new Uint8Array([1, 2, 3]));
    // parts, one of them a view into a larger buffer: their bytes one after another
    const big = new Uint8Array([7, 8, 9, 10]);
    await writeFileAtomic(join(dir, 'parts.bin'), [new Uint8Array([4, 5]), big.subarray(1, 3)]);
    expect([...readFileSync(join(dir, 'parts.bin'))]).toEqual([4, 5, 8, 9]);
    writeFileAtomicSync(join(dir, 'y.txt'), 'hello');
    await writeJsonAtomic(join(dir, 'z.json'), { k: [1] });
    expect([...readFileSync(join(dir, 'a', 'x.bin'))]).toEqual([1, 2, 3]);
    expect(readFileSync(join(dir, 'y.txt'), 'utf8')).toBe('hello');
    expect(readFileSync(join(dir, 'z.json'), 'utf8')).toBe('{\n  "k": [\n    1\n  ]\n}\n');
    expect(readdirSync(dir).sort()).toEqual(['a', 'parts.bin', 'y.txt', 'z.json']);
  });

  it('a stream writer shows nothing under the final name until commit; abort removes it', async () => {
    const dir = scratch();
    const w = new AtomicStreamWriter(join(dir, 'ids.bin'));
    await w.write(new Uint8Array([9, 9]));
    expect(existsSync(join(dir, 'ids.bin'))).toBe(false);
    await w.commit();
    expect([...readFileSync(join(dir, 'ids.bin'))]).toEqual([9, 9]);
    const v = new AtomicStreamWriter(join(dir, 'other.bin'));
    await v.write(new Uint8Array([1]));
    await v.abort();
    expect(readdirSync(dir)).toEqual(['ids.bin']);
  });

  it('the first write into a directory removes temporaries of dead writers, not of live ones', async () => {
    const dir = scratch();
    const dead = join(dir, `model.safetensors.tmp-${deadPid()}-0123abcd`);
    const live = join(dir, `model.safetensors.tmp-${process.ppid}-89abcdef`);
    const foreign = join(dir, 'notes.tmp');
    for (const p of [dead, live, foreign]) writeFileSync(p, 'x');
    expect(isTempName(dead)).toBe(true);
    expect(isTempName(foreign)).toBe(false);
    await writeFileAtomic(join(dir, 'model.safetensors'), 'new');
    expect(readdirSync(dir).sort()).toEqual(
      ['model.safetensors', `model.safetensors.tmp-${process.ppid}-89abcdef`, 'notes.tmp'].sort(),
    );
  });

  it('a same-pid leftover is stale unless this process is writing it', () => {
    const dir = scratch();
    const writing = tempPathFor(join(dir, 'n.json'));
    writeFileSync(writing, 'in progress');
    const leftover = join(dir, `m.json.tmp-${process.pid}-00000000`);
    writeFileSync(leftover, 'old');
    expect(sweepStaleTemps(dir)).toEqual([leftover]);
    expect(readdirSync(dir)).toEqual([writing.slice(dir.length + 1)]);
  });
});
