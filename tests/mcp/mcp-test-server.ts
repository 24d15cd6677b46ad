/** A Streamable HTTP MCP server for tests: a fresh SDK server per request (stateless) on an ephemeral port. */

import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

/** Serves `build()` at `<url>` (POST only); `close()` stops it. */
export async function serveMcp(build: () => McpServer): Promise<{ url: string; close(): Promise<void> }> {
  const http = createHttpServer((request, response) => {
    if (request.method !== 'POST') {
      response.writeHead(405, { Allow: 'POST' }).end();
      return;
    }
    void (async () => {
      const transport = new StreamableHTTPServerTransport({});
      await build().connect(transport);
      await transport.handleRequest(request, response);
    })().catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  http.listen(0, '127.0.0.1');
  await new Promise((resolve) => http.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
