import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { StreamWriter } from '../src/stream-writer.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A server writing `events` through a StreamWriter of `intervalMs`, one every `gapMs`; what a
 * client reads: the body, and the socket reads with the time each came.
 */
async function serve(events: string[], intervalMs: number, gapMs: number) {
  const server: Server = createServer(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const out = new StreamWriter(res, intervalMs);
    for (const e of events) {
      out.write(e);
      await sleep(gapMs);
    }
    out.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    const started = performance.now();
    return await new Promise<{ body: string; reads: number[] }>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/' }, (res) => {
        let body = '';
        const reads: number[] = [];
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          body += text;
          reads.push(performance.now() - started);
        });
        res.on('end', () => resolve({ body, reads }));
      }).on('error', reject);
    });
  } finally {
    server.close();
  }
}

describe('StreamWriter', () => {
  const events = Array.from({ length: 40 }, (_, k) => `data: {"k": ${k}}\n\n`);

  it('sends every event, byte for byte; with an interval the events after the first leave together, without one each leaves alone', async () => {
    const held = await serve(events, 60, 2);
    const each = await serve(events, 0, 2);
    expect(held.body).toBe(events.join(''));
    expect(each.body).toBe(events.join(''));
    // 40 events over ~80 ms: the first alone, then one write per 60 ms interval.
    expect(held.reads.length).toBeLessThanOrEqual(5);
    expect(each.reads.length).toBeGreaterThan(20);
  });

  it('writes the first event at once, not at the end of an interval', async () => {
    const { reads, body } = await serve(events.slice(0, 3), 2000, 50);
    expect(body).toBe(events.slice(0, 3).join(''));
    expect(reads[0]).toBeLessThan(1000); // the next two wait for end(), before the interval ends
    expect(reads.length).toBeLessThanOrEqual(2);
  });
});
