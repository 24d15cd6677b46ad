/** listen(): serves a Hono app with @hono/node-server on a port, and closes it (open streams included). */

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

/** A listening server. */
export interface Listening {
  /** `http://<host>:<port>`. */
  url: string;
  port: number;
  /** Stops accepting connections, ends open ones, and resolves once the server is closed. */
  close(): Promise<void>;
}

/**
 * Serves `app` on `hostname:port` (port 0: any free port) and resolves once it listens.
 *
 * @example
 * ```ts
 * const server = await listen(createServer({ runtime, targets }), { port: 0 });
 * await fetch(`${server.url}/v1/targets`);
 * await server.close();
 * ```
 */
export async function listen(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  options: { port: number; hostname?: string },
): Promise<Listening> {
  const hostname = options.hostname ?? '127.0.0.1';
  const server = await new Promise<Server>((resolve, reject) => {
    const created = serve({ fetch: app.fetch, port: options.port, hostname }, () =>
      resolve(created as Server),
    );
    (created as Server).once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}
