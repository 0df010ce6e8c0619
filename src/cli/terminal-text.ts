/**
 * Characters a terminal does not simply print: C0 and C1 controls with DEL (ESC among them, which
 * starts every escape sequence), the line and paragraph separators, the bidirectional overrides
 * and isolates (which reorder what follows them), and lone surrogates.
 */
const NON_PRINTING = /[\p{Cc}\p{Zl}\p{Zp}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|\p{Cs}/gu;

const SHORT_FORMS: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `text` with every non-printing character written out visibly: `\n`, `\r`, `\t`, `\x1b`,
 * `\u202e`. Every string that comes from the server (task ids, statuses, messages, error texts,
 * a `/health` body) goes through it before it is measured and drawn, so a server cannot move the
 * cursor, clear the screen, set the window title or the clipboard, or break a line.
 */
export function printable(text: string): string {
  return text.replace(NON_PRINTING, (character) => {
    const short = SHORT_FORMS[character];
    if (short !== undefined) return short;
    const code = character.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
