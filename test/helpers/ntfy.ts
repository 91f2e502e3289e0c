import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { serveForTest } from "./http-server.js";

/** One request as the fake ntfy saw it. */
export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type Responder = (request: Received, res: ServerResponse) => void;

/** Answers like ntfy does for a published message. */
const accept: Responder = (request, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ id: "xE73Iyuabi", event: "message", topic: request.path.slice(1) }));
};

/** A fake ntfy on 127.0.0.1 for this test only, closed (connections too) when it finishes. */
export async function fakeNtfy(respond: Responder = accept) {
  const received: Received[] = [];
  const url = await serveForTest((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      received.push(request);
      respond(request, res);
    });
  });
  return { url, received };
}
