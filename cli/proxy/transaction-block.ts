// The transaction status a proxy connection shows its client: emulated, since the gateway runs each statement alone.

import type { LocalStatement } from "#cli/proxy/local-statements.ts";
import { ProxyError } from "#cli/proxy/proxy-error.ts";

/** ReadyForQuery's status: idle, in a transaction block, in a failed transaction block. */
export type TransactionStatus = "I" | "T" | "E";

/** What a transaction-control statement answers: its command tag, and a warning PostgreSQL would give. */
export interface TransactionAnswer {
  readonly tag: string;
  readonly warning?: { readonly code: string; readonly message: string };
}

type Control = Extract<LocalStatement, { kind: "begin" | "commit" | "rollback" | "savepoint" }>;

/**
 * BEGIN, COMMIT, ROLLBACK and savepoints as PostgreSQL answers them: the status becomes `T` in a block and `E` after
 * an error in it, and a failed block refuses every statement but one that ends it (`25P02`). Nothing else is kept:
 * the statements are reads, each run on its own, and READ COMMITTED gives them a fresh snapshot each anyway.
 */
export class TransactionBlock {
  private current: TransactionStatus = "I";

  get status(): TransactionStatus {
    return this.current;
  }

  /** Throws `25P02` when the block failed and `statement` does not end it. */
  check(statement: LocalStatement): void {
    const ends =
      statement.kind === "commit" ||
      statement.kind === "rollback" ||
      (statement.kind === "savepoint" && statement.rollback);
    if (this.current === "E" && !ends)
      throw new ProxyError(
        "25P02",
        "current transaction is aborted, commands ignored until end of transaction block",
      );
  }

  /** A statement failed: a block becomes failed (outside one nothing changes). */
  failed(): void {
    if (this.current === "T") this.current = "E";
  }

  /** Applies a transaction-control statement. */
  apply(statement: Control): TransactionAnswer {
    this.check(statement);
    switch (statement.kind) {
      case "begin": {
        const warning =
          this.current === "I"
            ? undefined
            : { code: "25001", message: "there is already a transaction in progress" };
        this.current = "T";
        return { tag: "BEGIN", ...(warning === undefined ? {} : { warning }) };
      }
      case "commit":
      case "rollback": {
        const warning =
          this.current === "I"
            ? { code: "25P01", message: "there is no transaction in progress" }
            : undefined;
        const tag = statement.kind === "commit" && this.current !== "E" ? "COMMIT" : "ROLLBACK";
        this.current = "I";
        return { tag, ...(warning === undefined ? {} : { warning }) };
      }
      case "savepoint":
        if (this.current === "I")
          throw new ProxyError("25P01", `${statement.tag} can only be used in transaction blocks`);
        if (statement.rollback) this.current = "T";
        return { tag: statement.tag };
    }
  }
}
