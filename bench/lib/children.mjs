// Child processes of the bench: forked workers that talk over IPC, and timed one-shot commands.
import { fork, spawn } from "node:child_process";
import { track } from "./temp.mjs";

/** Forks `script` with IPC; stdout ignored, stderr passed through. */
export function forkWorker(script, args, options = {}) {
  return track(
    fork(script, args, {
      stdio: ["ignore", "ignore", "inherit", "ipc"],
      execArgv: [],
      ...options,
    }),
  );
}

/** Resolves with the first IPC message of `type` from `child`; rejects if it exits first. */
export function nextMessage(child, type, timeoutMs = 600_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no "${type}" message from pid ${child.pid} in ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message) => {
      if (message?.type !== type) return;
      cleanup();
      resolve(message);
    };
    const onExit = (code, signal) => {
      cleanup();
      reject(new Error(`pid ${child.pid} exited (${code ?? signal}) before sending "${type}"`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    child.on("message", onMessage);
    child.on("exit", onExit);
  });
}

/** Resolves when `child` has exited. */
export function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", resolve));
}

/**
 * Runs a command to completion and resolves with its wall time (from spawn to exit, measured
 * here), exit code and output.
 */
export function timed(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = track(spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options }));
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      const ms = performance.now() - t0;
      child.on("close", () => resolve({ ms, code: code ?? signal, stdout, stderr }));
    });
  });
}
