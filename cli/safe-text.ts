// Text from a gateway or a bundle, made safe to print: control, bidi and zero-width characters visible, CSV formulas inert.

import { visible } from "#shared/web/html-template.ts";

/**
 * One line of text for a terminal or a CI log: every control character (newline and tab included), bidi override
 * or isolate and zero-width character becomes a visible `⟨U+XXXX⟩`, so no escape sequence reaches the terminal
 * (title, clear screen, hyperlinks, OSC 52 clipboard writes) and no text can fake a line of its own.
 */
export function oneLine(text: string): string {
  return visible(String(text)).replace(
    /[\n\t]/g,
    (c) => `⟨U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}⟩`,
  );
}

/** Like {@link oneLine}, but newlines are kept (a multi-line message of our own making with untrusted parts). */
export function printable(text: string): string {
  return visible(String(text)).replace(/\t/g, "⟨U+0009⟩");
}

/**
 * JSON text whose every character a terminal could act on is escaped as `\uXXXX` (JSON already escapes C0
 * controls; this adds DEL, C1 controls, bidi and zero-width characters and U+2028/9): the value is unchanged.
 */
export function terminalJson(json: string): string {
  return json.replace(
    /[\u007F-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** `JSON.stringify` then {@link terminalJson}. */
export function stringifyForTerminal(value: unknown, indent?: number): string {
  return terminalJson(JSON.stringify(value, null, indent) ?? "null");
}

/**
 * A CSV field text neutralised as OWASP recommends against formula injection: a text starting with `=`, `+`,
 * `-`, `@`, tab or carriage return gets a leading `'` so a spreadsheet shows it as text. Only strings: a JSON
 * number such as `-5` is data, not a formula.
 */
export function inertCsvText(value: unknown, text: string): string {
  return typeof value === "string" && /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}
