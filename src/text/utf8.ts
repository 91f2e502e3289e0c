import { ProducerError } from "../errors.js";

/**
 * Bytes as UTF-8 text (a leading byte-order mark dropped). Invalid bytes are refused rather
 * than stored as U+FFFD, which would silently change the text.
 */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ProducerError(`${what} is not valid UTF-8 text`);
  }
}
