// The `tokenize` algorithm: a readable prefix plus a truncated keyed HMAC-SHA256 of the normalized value.
import * as z from "zod";
import { MaskingFailedError } from "#shared/errors.ts";
import { createHmacSha256Hex96, HMAC_HEX_DIGITS } from "./hmac-sha256.ts";

/** Normalizations a `tokenize` rule may apply before hashing so that spellings of one value share a token. */
export const tokenNormalizationSchema = z.enum(["case", "whitespace", "unicode"]);

/** A `tokenize` normalization. */
export type TokenNormalization = z.output<typeof tokenNormalizationSchema>;

/** What a tokenizer is made from (besides its key). */
export interface TokenizerSpec {
  readonly prefix: string;
  readonly normalize: readonly TokenNormalization[];
}

/**
 * Hex digits of the digest kept in a token: 24 (96 bits). Among n distinct values the chance that any two
 * share a token is about n²/2⁹⁷: 6·10⁻¹⁴ for 100 million values, negligible where 64 bits (3·10⁻⁴) is not.
 */
export const TOKEN_HEX_DIGITS = HMAC_HEX_DIGITS;

/** Shortest tokenization key accepted, in bytes (HMAC-SHA256's block strength). */
export const MIN_TOKEN_KEY_BYTES = 32;

/** Distinct values a tokenizer remembers before it forgets them all (bounds memory to a few MB per column). */
export const TOKEN_CACHE_ENTRIES = 50_000;

/** After this many cache misses, a tokenizer whose hits are under a quarter of its misses stops caching. */
export const TOKEN_CACHE_PROBE = 4_096;

const WHITESPACE_RUN = /\s+/gu;

/**
 * Applies a rule's normalizations: `unicode` (NFKC, so composed and decomposed spellings agree), `case`
 * (Unicode lower case), `whitespace` (trim, collapse runs to one space). Always in that order.
 */
export function normalizeForToken(value: string, normalize: readonly TokenNormalization[]): string {
  let v = value;
  if (normalize.includes("unicode")) v = v.normalize("NFKC");
  if (normalize.includes("case")) v = v.toLowerCase();
  if (normalize.includes("whitespace")) v = v.trim().replace(WHITESPACE_RUN, " ");
  return v;
}

/**
 * A tokenizer for one rule and key: `value` → `<prefix>_<24 hex digits of HMAC-SHA256(key, normalized UTF-8)>`.
 * Deterministic per key, so equal values join across results and reports; a different key gives unrelated
 * tokens. The prefix is not hashed (two rules with the same normalization give the same digest for a value).
 * Tokens are remembered per tokenizer (one result, never shared across keys or requests), up to
 * {@link TOKEN_CACHE_ENTRIES} values; a column of mostly distinct values (an MRN) stops caching after
 * {@link TOKEN_CACHE_PROBE} misses, where the cache would only cost memory and time.
 */
export function createTokenizer(key: Buffer, rule: TokenizerSpec): (value: string) => string {
  if (!Buffer.isBuffer(key) || key.length < MIN_TOKEN_KEY_BYTES) {
    throw new MaskingFailedError("The tokenization key is missing or too short; nothing was returned.");
  }
  const hmac = createHmacSha256Hex96(key);
  const prefix = `${rule.prefix}_`;
  const normalize = rule.normalize;
  const cache = new Map<string, string>();
  let caching = true;
  let hits = 0;
  let misses = 0;
  return (value: string): string => {
    if (caching) {
      const hit = cache.get(value);
      if (hit !== undefined) {
        hits++;
        return hit;
      }
    }
    const token = prefix + hmac(normalize.length === 0 ? value : normalizeForToken(value, normalize));
    if (caching) {
      misses++;
      if (misses === TOKEN_CACHE_PROBE && hits * 4 < misses) {
        caching = false;
        cache.clear();
      } else {
        if (cache.size >= TOKEN_CACHE_ENTRIES) cache.clear();
        cache.set(value, token);
      }
    }
    return token;
  };
}
