// The local host's read ledger: in memory, rebuilt from the session journal at start (durable because the journal is).

import { type ChainEntry, type LedgerReads, READ_BUCKET_SECONDS, type ReadLedger } from "#shared/ports.ts";
import { isSessionEntry } from "#shared/sessions/chain.ts";
import {
  journalReadsOf,
  LEDGER_RETENTION_SECONDS,
  ledgerRowsOf,
  readBucket,
} from "#shared/sessions/read-ledger.ts";

/** Rows per bucket start, per table, per principal; buckets older than the longest window are dropped. */
export class MemoryReadLedger implements ReadLedger {
  private readonly rows = new Map<string, Map<string, Map<number, number>>>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /**
   * Adds every completed session of `entries` (the journal's entries of the last day and more) once, whatever
   * versions the journal holds of it.
   */
  async rebuild(entries: AsyncIterable<ChainEntry>): Promise<void> {
    const seen = new Set<string>();
    for await (const entry of entries) {
      if (!isSessionEntry(entry)) continue;
      const { record } = entry;
      const reads = journalReadsOf(record);
      if (reads === undefined || seen.has(record.sessionId)) continue;
      seen.add(record.sessionId);
      await this.add(reads);
    }
  }

  async add(reads: LedgerReads): Promise<void> {
    const bucket = readBucket(reads.at);
    if (bucket < this.oldestKept()) return;
    let tables = this.rows.get(reads.principal);
    if (tables === undefined) {
      tables = new Map();
      this.rows.set(reads.principal, tables);
    }
    for (const table of reads.tables) {
      let buckets = tables.get(table);
      if (buckets === undefined) {
        buckets = new Map();
        tables.set(table, buckets);
      }
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + ledgerRowsOf(reads, table));
    }
  }

  async rowsSince(principal: string, table: string, since: Date): Promise<number> {
    const buckets = this.rows.get(principal)?.get(table);
    if (buckets === undefined) return 0;
    const from = readBucket(since);
    const oldest = this.oldestKept();
    let rows = 0;
    for (const [bucket, count] of buckets) {
      if (bucket < oldest) buckets.delete(bucket);
      else if (bucket >= from) rows += count;
    }
    return rows;
  }

  private oldestKept(): number {
    return readBucket(this.now()) - LEDGER_RETENTION_SECONDS - READ_BUCKET_SECONDS;
  }
}
