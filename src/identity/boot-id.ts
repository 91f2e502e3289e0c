import { readFileSync } from "node:fs";

/**
 * This machine's boot id (Linux: a random UUID drawn at every boot), or null elsewhere. A PID
 * means something only on the machine, and in the boot, that issued it: two hosts with one
 * hostname, or one host after a reboot, must not judge each other's claims by PID.
 */
export function bootId(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
  } catch {
    return null;
  }
}
