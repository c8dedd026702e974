const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Runs `cleanup` (synchronous: the process is about to end) when SIGINT or SIGTERM arrives
 * before the returned `release` is called, then raises the signal again so that the process
 * ends as it would have (or as the other listeners decide). SIGKILL cannot be caught: the stale
 * temporaries it leaves are swept at the next start (sweepStaleTemps).
 */
export function cleanupOnSignal(cleanup: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    release();
    try {
      cleanup();
    } finally {
      process.kill(process.pid, signal);
    }
  };
  const release = () => {
    for (const s of SIGNALS) process.off(s, onSignal);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  return release;
}
