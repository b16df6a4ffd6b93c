/**
 * Lets `${VAR}` stand unquoted inside YAML flow collections, as in `http: { token: ${NIGHTSHIFT_TOKEN} }`.
 *
 * YAML forbids `{`, `}`, `[`, `]` and `,` inside plain scalars of a flow collection, so the line above is a syntax
 * error to any YAML parser. Before parsing, each `${…}` / `$${…}` is rewritten character for character into Unicode
 * private-use characters (which YAML treats as ordinary text), and rewritten back in every scalar afterwards. The
 * rewrite keeps every string offset, so line:column positions from the parser stay exact.
 */

const BASE = 0xe000;
const PROTECTED_RANGE = /[\uE000-\uE07F]/;
const REFERENCE = /\$?\$\{[^}\n]*\}/g;

/**
 * Whether the text can be protected: it must not already contain the private-use characters we borrow (it never
 * does in practice; if it does, references in flow collections just need quotes).
 */
export function canProtect(text: string): boolean {
  return !PROTECTED_RANGE.test(text);
}

export function protectReferences(text: string): string {
  return text.replace(REFERENCE, (reference) => {
    let out = '';
    for (const char of reference) {
      const code = char.charCodeAt(0);
      out += code < 0x80 ? String.fromCharCode(BASE + code) : char;
    }
    return out;
  });
}

export function restoreReferences(text: string): string {
  if (!PROTECTED_RANGE.test(text)) return text;
  return text.replace(/[\uE000-\uE07F]/g, (char) => String.fromCharCode(char.charCodeAt(0) - BASE));
}
