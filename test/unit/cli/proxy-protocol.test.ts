// The proxy's framing and message codecs against node-postgres's own serializer: split, pipelined and malformed input.

import { serialize } from "pg-protocol";
import { describe, expect, it } from "vitest";
import { FrontendFramer } from "#cli/proxy/frontend-framer.ts";
import { backend, readFrontendMessage, readStartupPacket } from "#cli/proxy/wire-messages.ts";

const PIPELINE = Buffer.concat([
  serialize.parse({ name: "s1", text: "SELECT $1, $2", types: [23] }),
  serialize.bind({ statement: "s1", portal: "p1", values: ["3", null] }),
  serialize.describe({ type: "P", name: "p1" }),
  serialize.execute({ portal: "p1", rows: 2 }),
  serialize.close({ type: "S", name: "s1" }),
  serialize.flush(),
  serialize.sync(),
]);

function typedFramer(): FrontendFramer {
  const framer = new FrontendFramer();
  framer.started();
  return framer;
}

describe("FrontendFramer", () => {
  it("returns every pipelined message of one chunk, decoded as node-postgres wrote them", () => {
    const messages = typedFramer().push(PIPELINE).map(readFrontendMessage);
    expect(messages).toEqual([
      { type: "parse", name: "s1", sql: "SELECT $1, $2", paramTypes: [23] },
      {
        type: "bind",
        portal: "p1",
        statement: "s1",
        paramFormats: [0, 0],
        params: [Buffer.from("3"), null],
        resultFormats: [0],
      },
      { type: "describe", target: "P", name: "p1" },
      { type: "execute", portal: "p1", maxRows: 2 },
      { type: "close", target: "S", name: "s1" },
      { type: "flush" },
      { type: "sync" },
    ]);
  });

  it("reassembles messages split at every byte boundary", () => {
    for (let cut = 1; cut < PIPELINE.length; cut += 7) {
      const framer = typedFramer();
      const frames = [...framer.push(PIPELINE.subarray(0, cut)), ...framer.push(PIPELINE.subarray(cut))];
      expect(frames.map((f) => readFrontendMessage(f).type)).toEqual([
        "parse",
        "bind",
        "describe",
        "execute",
        "close",
        "flush",
        "sync",
      ]);
    }
  });

  it("hands out startup packets one at a time, then typed messages", () => {
    const framer = new FrontendFramer();
    const startup = serialize.startup({ user: "report", database: "ehr", application_name: "psql" });
    const password = serialize.password("secret");
    const [first, ...rest] = framer.push(Buffer.concat([serialize.requestSsl(), startup, password]));
    expect(rest).toEqual([]);
    expect(readStartupPacket(first ?? Buffer.alloc(0))).toEqual({ type: "ssl" });
    const [second] = framer.more();
    expect(readStartupPacket(second ?? Buffer.alloc(0))).toEqual({
      type: "startup",
      parameters: { user: "report", database: "ehr", application_name: "psql", client_encoding: "UTF8" },
    });
    framer.started();
    const [third] = framer.more();
    expect(third?.subarray(5, -1).toString()).toBe("secret");
  });

  it("refuses impossible lengths, and a malformed body throws RangeError", () => {
    expect(() => typedFramer().push(Buffer.from([0x51, 0, 0, 0, 2]))).toThrow(RangeError);
    expect(() => typedFramer().push(Buffer.from([0x51, 0x7f, 0, 0, 0]))).toThrow(RangeError);
    expect(() => new FrontendFramer().push(Buffer.from([0, 1, 0, 0, 0, 0, 0, 0]))).toThrow(RangeError);
    expect(() => readFrontendMessage(Buffer.from([0x42, 0, 0, 0, 6, 0]))).toThrow(RangeError);
  });
});

describe("backend messages", () => {
  it("frames RowDescription and DataRow with PostgreSQL's layout", () => {
    const row = backend.dataRow(["1", null, "é"]);
    expect(row[0]).toBe(0x44);
    expect(row.readInt32BE(1)).toBe(row.length - 1);
    expect(row.readInt16BE(5)).toBe(3);
    expect(row.readInt32BE(7)).toBe(1);
    expect(row.readInt32BE(12)).toBe(-1);
    expect(row.readInt32BE(16)).toBe(2);
    const description = backend.rowDescription([{ name: "id", type: { oid: 23, size: 4 } }]);
    expect(description.subarray(0, 1).toString()).toBe("T");
    expect(description.readInt32BE(1 + 4 + 2 + 3 + 4 + 2)).toBe(23);
  });
});
