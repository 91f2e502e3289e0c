/**
 * Minimal ANSI styling: on only for a TTY, and never when NO_COLOR is set to a non-empty value
 * (the convention of no-color.org: `NO_COLOR=` alone leaves colour on).
 */
export interface Style {
  enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

export function styleFor(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv): Style {
  const enabled =
    Boolean((stream as { isTTY?: boolean }).isTTY) && !env.NO_COLOR && env.TERM !== "dumb";
  const wrap = (open: number, close: number) => (text: string) =>
    enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return {
    enabled,
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
  };
}
