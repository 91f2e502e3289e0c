import { createServer, type Server, Socket } from "node:net";
import { onTestFinished } from "vitest";

/**
 * A TCP proxy in front of the real PostgreSQL server that reads the protocol's messages (a
 * type byte and a length) and can misbehave the way networks and poolers do: drop the
 * notifications a pooler in transaction mode never forwards, or cut the line just after a
 * COMMIT has reached the server, before its answer comes back.
 */
export interface PgProxy {
  port: number;
  /** Notifications (message `A`) from the server are dropped. */
  dropNotifications: boolean;
  /** The next simple-protocol COMMIT is passed on, then both sides of its line are cut. */
  cutAfterCommit: boolean;
  /** COMMITs that reached the server before the line was cut. */
  cut: number;
}

export async function startPgProxy(target: { host: string; port: number }): Promise<PgProxy> {
  const sockets = new Set<Socket>();
  const proxy: PgProxy = { port: 0, dropNotifications: false, cutAfterCommit: false, cut: 0 };
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    // Client to server: the startup message has no type byte; every later one does.
    let started = false;
    let silenced = false;
    let fromClient = Buffer.alloc(0);
    client.on("data", (data: Buffer) => {
      fromClient = Buffer.concat([fromClient, data]);
      for (;;) {
        if (!started) {
          if (fromClient.length < 4) return;
          const length = fromClient.readInt32BE(0);
          if (fromClient.length < length) return;
          upstream.write(fromClient.subarray(0, length));
          fromClient = fromClient.subarray(length);
          started = true;
          continue;
        }
        if (fromClient.length < 5) return;
        const length = fromClient.readInt32BE(1);
        if (fromClient.length < length + 1) return;
        const message = fromClient.subarray(0, length + 1);
        fromClient = fromClient.subarray(length + 1);
        const commit =
          message[0] === 0x51 && /^COMMIT\b/i.test(message.subarray(5).toString("utf8"));
        if (commit && proxy.cutAfterCommit) {
          proxy.cutAfterCommit = false;
          proxy.cut++;
          // Nothing the server says from here on reaches the client.
          silenced = true;
          upstream.write(message, () => {
            // Long enough for the server to run it; the answer never reaches the client.
            setTimeout(() => {
              client.destroy();
              upstream.destroy();
            }, 200);
          });
          client.pause();
          return;
        }
        upstream.write(message);
      }
    });
    let fromServer = Buffer.alloc(0);
    upstream.on("data", (data: Buffer) => {
      if (silenced) return;
      fromServer = Buffer.concat([fromServer, data]);
      const out: Buffer[] = [];
      for (;;) {
        if (fromServer.length < 5) break;
        const length = fromServer.readInt32BE(1);
        if (fromServer.length < length + 1) break;
        const message = fromServer.subarray(0, length + 1);
        fromServer = fromServer.subarray(length + 1);
        if (message[0] === 0x41 && proxy.dropNotifications) continue;
        out.push(message);
      }
      if (out.length > 0 && !client.destroyed) client.write(Buffer.concat(out));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.port = (server.address() as { port: number }).port;
  onTestFinished(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return proxy;
}
