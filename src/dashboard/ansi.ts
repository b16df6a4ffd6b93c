/**
 * What a job printed, made safe for a page: everything is HTML-escaped, ANSI SGR colour codes become spans with
 * classes (the stylesheet colours them for light and dark), and every other escape or control sequence is dropped.
 * A job printing `<script>` shows `<script>` as text.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);
}

/**
 * CSI sequences (ESC [ … final byte), OSC (ESC ] … BEL or ESC \), other two-byte escapes, and C0/C1 controls but
 * tab. The CSI group captures the parameters and the final byte so SGR (`m`) can be told from cursor movement.
 */
// eslint-disable-next-line no-control-regex
const SEQUENCE = /\x1b\[([0-9;:?]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

interface Style {
  fg: string | null;
  bg: string | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

const PLAIN: Style = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };

/** One line (or more) of output as HTML: escaped text in spans classed `a-b`, `a-f1`, `a-g4` …; never raw markup. */
export function ansiToHtml(text: string): string {
  let out = '';
  let style: Style = PLAIN;
  let last = 0;
  SEQUENCE.lastIndex = 0;
  for (let m = SEQUENCE.exec(text); m !== null; m = SEQUENCE.exec(text)) {
    out += wrap(text.slice(last, m.index), style);
    last = m.index + m[0].length;
    if (m[2] === 'm') style = applySgr(style, m[1] ?? '');
  }
  return out + wrap(text.slice(last), style);
}

/** The text without any escape sequence (for search and for places that show plain text). */
export function stripAnsi(text: string): string {
  return text.replace(SEQUENCE, '');
}

function wrap(text: string, style: Style): string {
  if (text === '') return '';
  const classes: string[] = [];
  if (style.bold) classes.push('a-b');
  if (style.dim) classes.push('a-d');
  if (style.italic) classes.push('a-i');
  if (style.underline) classes.push('a-u');
  if (style.fg !== null) classes.push(`a-f${style.fg}`);
  if (style.bg !== null) classes.push(`a-g${style.bg}`);
  const escaped = escapeHtml(text);
  return classes.length ? `<span class="${classes.join(' ')}">${escaped}</span>` : escaped;
}

/** Applies SGR parameters; 256-colour and truecolour codes are consumed but shown in the default colour. */
function applySgr(current: Style, params: string): Style {
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
  let style = { ...current };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i] ?? 0;
    if (code === 0) style = { ...PLAIN };
    else if (code === 1) style.bold = true;
    else if (code === 2) style.dim = true;
    else if (code === 3) style.italic = true;
    else if (code === 4) style.underline = true;
    else if (code === 22) style.bold = style.dim = false;
    else if (code === 23) style.italic = false;
    else if (code === 24) style.underline = false;
    else if (code >= 30 && code <= 37) style.fg = String(code - 30);
    else if (code >= 90 && code <= 97) style.fg = String(code - 90 + 8);
    else if (code === 39) style.fg = null;
    else if (code >= 40 && code <= 47) style.bg = String(code - 40);
    else if (code >= 100 && code <= 107) style.bg = String(code - 100 + 8);
    else if (code === 49) style.bg = null;
    else if (code === 38 || code === 48) i += codes[i + 1] === 5 ? 2 : codes[i + 1] === 2 ? 4 : 1;
  }
  return style;
}
