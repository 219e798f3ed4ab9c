// Splits a client's byte stream into protocol messages: untyped startup packets first, then typed messages.

/** Longest startup packet accepted (PostgreSQL's own limit). */
const MAX_STARTUP_BYTES = 10_000;
/** Longest message accepted after startup (the gateway takes at most 100,000 characters of SQL and 1,000 parameters). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Reassembles messages from socket chunks, whatever their boundaries: during startup each packet is an Int32
 * length (counting itself) and a body; after {@link FrontendFramer.started} each message is a type byte, an Int32
 * length (counting itself, not the type) and a body. Every frame is copied out of the socket's buffers.
 */
export class FrontendFramer {
  private pending: Buffer = Buffer.alloc(0);
  private typed = false;

  /** From now on, messages carry a type byte (call after the StartupMessage). */
  started(): void {
    this.typed = true;
  }

  /** Adds a chunk; returns the complete frames it finished. Throws `RangeError` on an impossible length. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    for (;;) {
      const header = this.typed ? 5 : 4;
      if (this.pending.length < header) break;
      const length = this.pending.readInt32BE(this.typed ? 1 : 0);
      const max = this.typed ? MAX_MESSAGE_BYTES : MAX_STARTUP_BYTES;
      if (length < 4 || length > max) throw new RangeError("invalid message length");
      const total = length + (this.typed ? 1 : 0);
      if (this.pending.length < total) break;
      frames.push(this.pending.subarray(0, total));
      this.pending = this.pending.subarray(total);
      if (!this.typed && frames.length > 0) break;
    }
    return frames;
  }

  /** Frames already received past the last one returned (a startup packet is returned alone: read them next). */
  more(): Buffer[] {
    return this.pending.length === 0 ? [] : this.push(Buffer.alloc(0));
  }
}
