// PostgreSQL protocol message bodies: frontend messages read, backend messages written (framing by pg-protocol).

import { BufferReader } from "pg-protocol/dist/buffer-reader";
import { Writer } from "pg-protocol/dist/buffer-writer";
import type { WireType } from "#cli/proxy/type-oids.ts";

/** A frontend message after startup, decoded. */
export type FrontendMessage =
  | { readonly type: "query"; readonly sql: string }
  | {
      readonly type: "parse";
      readonly name: string;
      readonly sql: string;
      readonly paramTypes: readonly number[];
    }
  | {
      readonly type: "bind";
      readonly portal: string;
      readonly statement: string;
      readonly paramFormats: readonly number[];
      readonly params: readonly (Buffer | null)[];
      readonly resultFormats: readonly number[];
    }
  | { readonly type: "describe"; readonly target: "S" | "P"; readonly name: string }
  | { readonly type: "execute"; readonly portal: string; readonly maxRows: number }
  | { readonly type: "close"; readonly target: "S" | "P"; readonly name: string }
  | { readonly type: "sync" }
  | { readonly type: "flush" }
  | { readonly type: "terminate" }
  | { readonly type: "unsupported"; readonly code: string };

function int16s(reader: BufferReader): number[] {
  const count = reader.int16();
  return Array.from({ length: count }, () => reader.int16());
}

function target(byte: number): "S" | "P" {
  const letter = String.fromCharCode(byte);
  if (letter !== "S" && letter !== "P") throw new RangeError("Describe/Close target must be S or P");
  return letter;
}

/** A startup-phase packet (no type byte). */
export type StartupPacket =
  | { readonly type: "ssl" }
  | { readonly type: "gss" }
  | { readonly type: "cancel"; readonly processId: number; readonly secret: number }
  | { readonly type: "startup"; readonly parameters: Readonly<Record<string, string>> }
  | { readonly type: "unknown" };

const PROTOCOL_3_0 = 196_608;
const SSL_REQUEST = 80_877_103;
const GSSENC_REQUEST = 80_877_104;
const CANCEL_REQUEST = 80_877_102;

/** Decodes a startup-phase packet (length, code, body). Throws `RangeError` on a malformed one. */
export function readStartupPacket(frame: Buffer): StartupPacket {
  const reader = new BufferReader();
  reader.setBuffer(4, frame);
  const code = reader.int32();
  if (code === SSL_REQUEST) return { type: "ssl" };
  if (code === GSSENC_REQUEST) return { type: "gss" };
  if (code === CANCEL_REQUEST) return { type: "cancel", processId: reader.int32(), secret: reader.int32() };
  if (code !== PROTOCOL_3_0) return { type: "unknown" };
  const parameters: Record<string, string> = {};
  for (let name = reader.cstring(); name !== ""; name = reader.cstring()) parameters[name] = reader.cstring();
  return { type: "startup", parameters };
}

/** Decodes one complete message (type byte, length, body). Throws `RangeError` on a malformed one. */
export function readFrontendMessage(data: Buffer): FrontendMessage {
  const reader = new BufferReader();
  reader.setBuffer(0, data);
  const code = String.fromCharCode(reader.byte());
  reader.int32();
  switch (code) {
    case "Q":
      return { type: "query", sql: reader.cstring() };
    case "P": {
      const name = reader.cstring();
      const sql = reader.cstring();
      const count = reader.int16();
      const paramTypes = Array.from({ length: count }, () => reader.int32());
      return { type: "parse", name, sql, paramTypes };
    }
    case "B": {
      const portal = reader.cstring();
      const statement = reader.cstring();
      const paramFormats = int16s(reader);
      const count = reader.int16();
      const params = Array.from({ length: count }, () => {
        const length = reader.int32();
        if (length < 0) return null;
        const bytes = reader.bytes(length);
        if (bytes.length !== length) throw new RangeError("truncated Bind");
        return bytes;
      });
      return { type: "bind", portal, statement, paramFormats, params, resultFormats: int16s(reader) };
    }
    case "D":
      return { type: "describe", target: target(reader.byte()), name: reader.cstring() };
    case "E":
      return { type: "execute", portal: reader.cstring(), maxRows: reader.int32() };
    case "C":
      return { type: "close", target: target(reader.byte()), name: reader.cstring() };
    case "S":
      return { type: "sync" };
    case "H":
      return { type: "flush" };
    case "X":
      return { type: "terminate" };
    default:
      return { type: "unsupported", code };
  }
}

const writer = new Writer();

/** A column of a RowDescription. */
export interface WireColumn {
  readonly name: string;
  readonly type: WireType;
}

/** Backend messages, each a complete frame. */
export const backend = {
  authenticationOk: (): Buffer => writer.addInt32(0).flush(0x52),
  authenticationCleartextPassword: (): Buffer => writer.addInt32(3).flush(0x52),
  parameterStatus: (name: string, value: string): Buffer =>
    writer.addCString(name).addCString(value).flush(0x53),
  backendKeyData: (processId: number, secret: number): Buffer =>
    writer.addInt32(processId).addInt32(secret).flush(0x4b),
  readyForQuery: (status: "I" | "T" | "E"): Buffer => writer.addString(status).flush(0x5a),
  rowDescription(columns: readonly WireColumn[]): Buffer {
    writer.addInt16(columns.length);
    for (const c of columns) {
      writer.addCString(c.name).addInt32(0).addInt16(0).addInt32(c.type.oid).addInt16(c.type.size);
      writer.addInt32(-1).addInt16(0);
    }
    return writer.flush(0x54);
  },
  dataRow(values: readonly (string | null)[]): Buffer {
    writer.addInt16(values.length);
    for (const v of values) {
      if (v === null) writer.addInt32(-1);
      else writer.addInt32PrefixedString(v);
    }
    return writer.flush(0x44);
  },
  commandComplete: (tag: string): Buffer => writer.addCString(tag).flush(0x43),
  emptyQueryResponse: (): Buffer => writer.flush(0x49),
  parseComplete: (): Buffer => writer.flush(0x31),
  bindComplete: (): Buffer => writer.flush(0x32),
  closeComplete: (): Buffer => writer.flush(0x33),
  noData: (): Buffer => writer.flush(0x6e),
  portalSuspended: (): Buffer => writer.flush(0x73),
  parameterDescription(oids: readonly number[]): Buffer {
    writer.addInt16(oids.length);
    for (const oid of oids) writer.addInt32(oid);
    return writer.flush(0x74);
  },
  /** ErrorResponse (`E`) or NoticeResponse (`N`) with severity, SQLSTATE, message and optional detail and hint. */
  report(
    kind: "error" | "notice",
    fields: { severity: string; code: string; message: string; detail?: string; hint?: string },
  ): Buffer {
    writer.addString("S").addCString(fields.severity).addString("V").addCString(fields.severity);
    writer.addString("C").addCString(fields.code).addString("M").addCString(fields.message);
    if (fields.detail !== undefined) writer.addString("D").addCString(fields.detail);
    if (fields.hint !== undefined) writer.addString("H").addCString(fields.hint);
    writer.addCString("");
    return writer.flush(kind === "error" ? 0x45 : 0x4e);
  },
};
