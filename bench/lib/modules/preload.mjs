// `node --import` this file to list every JavaScript file a process loads (ES modules through
// loader hooks, CommonJS through the require machinery) into $BENCH_MODULE_LIST.
import { appendFileSync } from "node:fs";
import Module, { register } from "node:module";
import { pathToFileURL } from "node:url";

const file = process.env.BENCH_MODULE_LIST;
if (file) {
  register("./hooks.mjs", import.meta.url, { data: { file } });
  const original = Module._extensions[".js"];
  Module._extensions[".js"] = function (module, filename) {
    appendFileSync(file, `${pathToFileURL(filename).href}\n`);
    return original.call(this, module, filename);
  };
}
