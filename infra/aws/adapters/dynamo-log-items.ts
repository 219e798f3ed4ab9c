// The session table's item layout: self-keyed entries, their latest-version items, the sequencer's index and head.

import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { ChainEntry, IdempotencyRef } from "#shared/ports.ts";
import { parseChainRecord } from "#shared/sessions/policy-change.ts";

/** How partition keys start, by kind of item (IAM grants scope functions to them as `<prefix>*` leading keys). */
export const KEY_PREFIXES = {
  session: "session#",
  entry: "entry#",
  chain: "chain#",
  idempotency: "idem#",
} as const;

/** Partition key of the single chain-head item, written by the sequencer only (and by writers before it existed). */
export const HEAD_PK = `${KEY_PREFIXES.chain}head`;

/** The entry partition of the policy changes (`entry#policy` / change number) and the item naming the policy in force. */
export const POLICY_ENTRIES = "policy";
export const POLICY_STATE_PK = `${KEY_PREFIXES.entry}policy-state`;

/** A DynamoDB item. */
export type Item = Record<string, AttributeValue>;

/** Key helpers: one table, generic `pk` (string) / `sk` (number) keys. */
export const keys = {
  head: () => ({ pk: { S: HEAD_PK }, sk: { N: "0" } }),
  session: (sessionId: string) => ({ pk: { S: `${KEY_PREFIXES.session}${sessionId}` }, sk: { N: "0" } }),
  /** A version's entry (`sk` ≥ 1), the record written once on the request path. */
  entry: (owner: string, version: number) => ({
    pk: { S: `${KEY_PREFIXES.entry}${owner}` },
    sk: { N: String(version) },
  }),
  /** The sequencer's marker of an entry partition (`sk` 0): the last version it sequenced, at which `seq`. */
  marker: (entryPk: string) => ({ pk: { S: entryPk }, sk: { N: "0" } }),
  /** The chain's index item of `seq` (the sequencer's), or an entry written whole before the sequencer existed. */
  index: (day: string, seq: number) => ({ pk: { S: `${KEY_PREFIXES.chain}${day}` }, sk: { N: String(seq) } }),
  policyState: () => ({ pk: { S: POLICY_STATE_PK }, sk: { N: "0" } }),
  idempotency: (ref: IdempotencyRef) => ({
    pk: { S: `${KEY_PREFIXES.idempotency}${ref.scope}#${ref.key}` },
    sk: { N: "0" },
  }),
};

const numberOf = (value: AttributeValue | undefined): number | undefined =>
  value?.N === undefined ? undefined : Number(value.N);

/** What the head item states: the chain's last entry, and the tree the sequencer built over it. */
export interface ChainHead {
  /** Entries in the chain (the last `seq`). */
  readonly seq: number;
  readonly digest: string;
  readonly recordedAt: string;
  readonly firstDay: string;
  /** The tree over the first `seq` entries (absent before the sequencer's first run). */
  readonly tree?: { readonly root: Uint8Array; readonly frontier: readonly Uint8Array[] };
  /** The latest signed checkpoint note, and its size. */
  readonly checkpoint?: { readonly size: number; readonly note: string };
}

/** Reads the head item (undefined: no entry was ever sequenced). */
export function headFromItem(item: Item | undefined): ChainHead | undefined {
  const seq = numberOf(item?.seq);
  const digest = item?.digest?.S;
  const recordedAt = item?.recordedAt?.S;
  if (item === undefined || seq === undefined || digest === undefined || recordedAt === undefined)
    return undefined;
  const root = item.root?.B;
  const frontier = item.frontier?.L?.map((v) => v.B);
  const checkpointSize = numberOf(item.checkpointSize);
  const note = item.checkpoint?.S;
  return {
    seq,
    digest,
    recordedAt,
    firstDay: item.firstDay?.S ?? recordedAt.slice(0, 10),
    ...(root && frontier?.every((h) => h !== undefined)
      ? {
          tree: {
            root: Uint8Array.from(root),
            frontier: frontier.map((h) => Uint8Array.from(h as Uint8Array)),
          },
        }
      : {}),
    ...(checkpointSize !== undefined && note !== undefined
      ? { checkpoint: { size: checkpointSize, note } }
      : {}),
  };
}

/** An entry item as the request path wrote it: whose, which version, when asked, the record's JSON. */
export interface EntryItem {
  readonly pk: string;
  readonly version: number;
  readonly requestedAt: string;
  readonly record: string;
}

/** Reads an entry item (undefined for the marker, the policy state, or anything else under `entry#`). */
export function entryFromItem(item: Item | undefined): EntryItem | undefined {
  const pk = item?.pk?.S;
  const version = numberOf(item?.sk);
  const record = item?.record?.S;
  if (pk === undefined || version === undefined || version < 1 || record === undefined) return undefined;
  return { pk, version, requestedAt: item?.requestedAt?.S ?? "", record };
}

/** The index item of a sequenced entry: its place in the chain, and where its record is. */
export function indexItem(
  entry: Omit<ChainEntry, "record">,
  source: Pick<EntryItem, "pk" | "version">,
): Item {
  return {
    ...keys.index(entry.day, entry.seq),
    recordedAt: { S: entry.recordedAt },
    prev: { S: entry.prev },
    digest: { S: entry.digest },
    entryPk: { S: source.pk },
    entrySk: { N: String(source.version) },
  };
}

/** The chain entry of an index item whose record is `recordJson` (an item written whole carries it as `entry`). */
export function chainEntryOf(index: Item, recordJson: string): ChainEntry {
  const day = (index.pk?.S ?? "").slice(KEY_PREFIXES.chain.length);
  return {
    seq: Number(index.sk?.N),
    day,
    recordedAt: index.recordedAt?.S ?? "",
    prev: index.prev?.S ?? "",
    digest: index.digest?.S ?? "",
    record: parseChainRecord(JSON.parse(recordJson)),
  };
}
