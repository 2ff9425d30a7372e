import { createServer } from 'node:net';

/** A TCP port of 127.0.0.1 free at the moment of asking (for a server a test starts). */
export const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const p = (probe.address() as { port: number }).port;
      probe.close(() => resolve(p));
    });
  });
