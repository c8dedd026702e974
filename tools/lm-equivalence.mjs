#!/usr/bin/env node
// What the launcher scripts (mpi-two-hosts.sh, slurm-check.sh) share to show a data-parallel LM
// run equals one process:
//   node tools/lm-equivalence.mjs prepare WORK      # WORK/cache from a WikiText-shaped corpus of
//                                                   # 2,000 word types; prints the `train lm` arguments
//   node tools/lm-equivalence.mjs compare ONE MANY  # worst relative difference of two runs' metrics,
//                                                   # tokens/s and the many-rank run's allreduce
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const [what, ...args] = process.argv.slice(2);
if (what === 'prepare' && args.length === 1) {
  const [work] = args;
  const dir = `${work}/corpus`;
  mkdirSync(dir, { recursive: true });
  let s = 7;
  const word = () => {
    s = (s * 16807) % 2147483647;
    return `w${Math.floor((s / 2147483647) ** 2 * 2000)}`;
  };
  const article = (title, lines) =>
    ` \n = ${title} = \n \n${Array.from({ length: lines }, () => ` ${Array.from({ length: 12 }, word).join(' ')} . \n \n`).join('')}`;
  writeFileSync(`${dir}/wiki.train.tokens`, article('One', 1500) + article('Two', 1500));
  writeFileSync(`${dir}/wiki.valid.tokens`, article('Three', 40));
  writeFileSync(`${dir}/wiki.test.tokens`, article('Four', 40));
  const cache = `${work}/cache`;
  execFileSync(process.execPath, [
    'packages/cli/dist/bin.js',
    'lm',
    'prepare',
    '--data-dir',
    dir,
    '--out',
    cache,
  ]);
  console.log(
    `train lm --cache ${cache} --hidden-size 256 --batch-size 32 --bptt 32 --steps 50 --eval-every 25 --checkpoint-every 50 --no-tied`,
  );
} else if (what === 'compare' && args.length === 2) {
  const [oneDir, manyDir] = args;
  const read = (d) => readFileSync(`${d}/metrics.jsonl`, 'utf8').trim().split('\n').map(JSON.parse);
  const [a, b] = [read(oneDir), read(manyDir)];
  if (a.length !== b.length) throw new Error(`${a.length} metrics records against ${b.length}`);
  let worst = 0;
  a.forEach((r, i) => {
    if (b[i].step !== r.step || b[i].kind !== r.kind) throw new Error(`record ${i} differs`);
    for (const k of ['loss', 'gradNorm', 'nllPerToken'])
      if (k in r) worst = Math.max(worst, Math.abs(b[i][k] - r[k]) / Math.abs(r[k]));
  });
  const result = (d) => JSON.parse(readFileSync(`${d}/result.json`, 'utf8'));
  const [one, many] = [result(oneDir), result(manyDir)];
  console.log(
    `${a.length} metrics records, worst relative difference of losses, gradient norms, validation NLL: ${worst.toExponential(2)}`,
  );
  console.log(
    `tokens/s: 1 process ${one.tokensPerSecond.toFixed(0)}, ${many.worldSize} ranks ${many.tokensPerSecond.toFixed(0)}; allreduce ${many.allreduceMsPerStep.toFixed(1)} ms and ${(many.allreduceBytesPerStep / 1e6).toFixed(2)} MB a step`,
  );
} else {
  console.error(
    'lm-equivalence: usage: lm-equivalence.mjs prepare WORK | compare ONE_RUN MANY_RUN',
  );
  process.exit(2);
}
