// A length check on every message the PostgreSQL server sends, made from its 5-byte header before the message is
// buffered: node-postgres reads a whole message into memory before anything sees it, and a message it cannot make
// into a string (a cell past V8's ~512 Mi-character limit) throws inside the socket's `data` handler, uncaught.

import type { Duplex } from "node:stream";
import { MAX_ROW_CHARS } from "#shared/sql/page-sizing.ts";

/** Backend message types with a bound of their own. */
const DATA_ROW = 0x44; // 'D'

/**
 * The longest DataRow that can carry a row within {@link MAX_ROW_CHARS}. A row's characters are counted as the
 * UTF-16 code units of its values (at least one per three UTF-8 bytes) plus 16 per value (more than each value's
 * 4-byte length), so a message of `L` bytes after its type holds a row of at least `(L − 6) / 3` characters: past
 * this bound the row is certainly too large, and it is refused before a byte of it is kept.
 */
export const MAX_DATA_ROW_BYTES = 3 * MAX_ROW_CHARS + 6;

/**
 * The longest message of any other type: a row description of 1,664 columns takes ~140 KB; an error or a notice
 * quotes the value it is about, whole (`invalid input syntax for type integer: "…"`), and is cut here.
 */
export const MAX_OTHER_MESSAGE_BYTES = 1024 * 1024;

/** Why a connection was closed under its statement. */
export interface OversizedMessage {
  /** The message type, as its letter (`D` a data row, `E` an error, `N` a notice…). */
  readonly type: string;
  /** The message's length as its header gives it (its type byte excluded). */
  readonly length: number;
}

/**
 * Watches `stream` (a connection's socket, from a message boundary on) and calls `oversized` once, then stops
 * watching, at the first message whose header announces more than its bound; the caller closes the connection.
 * The check runs before node-postgres's own `data` listener, so that listener never receives more of the message
 * than the chunk its header came in.
 */
export function guardMessageSizes(stream: Duplex, oversized: (message: OversizedMessage) => void): void {
  // Bytes of the current message still to come, after its header.
  let remaining = 0;
  // A header split across chunks: its bytes so far.
  const header = Buffer.alloc(5);
  let partial = 0;
  let tripped = false;
  const check = (type: number, length: number): boolean => {
    const bound = type === DATA_ROW ? MAX_DATA_ROW_BYTES : MAX_OTHER_MESSAGE_BYTES;
    if (length >= 4 && length - 4 <= bound) return true;
    tripped = true;
    stream.off("data", watch);
    oversized({ type: String.fromCharCode(type), length });
    return false;
  };
  const watch = (chunk: Buffer): void => {
    if (tripped) return;
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      if (remaining > 0) {
        const skipped = Math.min(remaining, end - at);
        remaining -= skipped;
        at += skipped;
        continue;
      }
      let type: number;
      let length: number;
      if (partial === 0 && end - at >= 5) {
        type = chunk[at] ?? 0;
        length = chunk.readUInt32BE(at + 1);
        at += 5;
      } else {
        const taken = Math.min(5 - partial, end - at);
        chunk.copy(header, partial, at, at + taken);
        partial += taken;
        at += taken;
        if (partial < 5) return;
        partial = 0;
        type = header[0] ?? 0;
        length = header.readUInt32BE(1);
      }
      if (!check(type, length)) return;
      remaining = length - 4;
    }
  };
  stream.prependListener("data", watch);
}
