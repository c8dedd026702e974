// Refusing a request while its client is still sending the body (413 too large, 408 too slow, any
// answer given before the body was read): the answer goes out with `Connection: close`, then the
// server reads and discards what still arrives, for at most LINGER_BYTES and LINGER_MS, before it
// closes the socket. Closing at once (Node's default) makes the kernel answer the client's further
// writes with a reset, and a client still writing (fetch, the openai client) then reports a
// connection error instead of the answer. nginx's lingering close does the same.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export interface LingerLimits {
  /** Bytes read and discarded after the answer at most. */
  bytes: number;
  /** Milliseconds the discarding lasts at most. */
  ms: number;
}

const LINGER: LingerLimits = { bytes: 64 << 20, ms: 5000 };

/**
 * Half-closes `socket` once what was written is flushed (the client reads the answer to its
 * end), discards what the client still sends, and destroys the socket when the client stops
 * sending, or past the limits.
 */
export function lingeringClose(socket: Socket, limits: LingerLimits = LINGER): void {
  if (socket.destroyed) return;
  const from = socket.bytesRead;
  const close = () => {
    clearTimeout(timer);
    clearInterval(meter);
    socket.destroy();
  };
  const timer = setTimeout(close, limits.ms);
  // The HTTP parser may consume the socket in C++ (no 'data' events); bytesRead counts anyway.
  const meter = setInterval(() => {
    if (socket.bytesRead - from > limits.bytes) close();
  }, 50);
  socket.once('end', close);
  socket.once('close', () => {
    clearTimeout(timer);
    clearInterval(meter);
  });
  socket.end();
  socket.resume();
}

/**
 * Makes the response to `request` end its connection with a lingering close when the request's
 * body has not been read to its end: Node would destroy the socket right after the answer.
 */
export function lingerIfUnread(request: IncomingMessage, setHeader: () => void): void {
  if (request.complete) return;
  setHeader();
  const socket = request.socket;
  // Node calls destroySoon() when a `Connection: close` response has been written; this socket's
  // alone is replaced. The body's bytes go on to the request, which discards them.
  socket.destroySoon = () => lingeringClose(socket);
  request.resume();
}
