/**
 * Stopping the HTTP listener without cutting requests in flight: a client
 * whose write was accepted gets its answer, not a reset connection that
 * leaves it guessing whether the write happened.
 */
import type { Server } from 'node:http';

/** How long requests in flight may take to finish once the broker stops; then their connections are cut. */
const DRAIN_MS = 5_000;
/** Keep-alive connections become idle as their last answer goes out; they are closed this often while draining. */
const IDLE_SWEEP_MS = 20;

export function drain(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    const cut = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
