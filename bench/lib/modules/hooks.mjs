// Module-loader hooks (run in the loader thread): note every ES module file loaded.
import { appendFileSync } from "node:fs";

let file = null;

export function initialize(data) {
  file = data.file;
}

export async function load(url, context, nextLoad) {
  if (file && url.startsWith("file:")) appendFileSync(file, `${url}\n`);
  return nextLoad(url, context);
}
