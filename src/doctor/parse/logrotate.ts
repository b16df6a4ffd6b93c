/**
 * logrotate's config: the path patterns its rules cover, and whether a log file falls under one. Patterns are
 * glob(3) patterns (`*`, `?`, `[…]`), space-separated before a `{`, possibly quoted, possibly several per rule and
 * over several lines.
 */

/** Path patterns of every rule in one config file, plus the files/directories it `include`s. */
export function parseLogrotateConfig(text: string): { patterns: string[]; includes: string[] } {
  const patterns: string[] = [];
  const includes: string[] = [];
  let depth = 0;
  let pending: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    if (depth === 0) {
      const include = /^include\s+(\S+)/.exec(line);
      if (include) {
        includes.push(include[1]!);
        continue;
      }
      const open = line.indexOf('{');
      const head = open === -1 ? line : line.slice(0, open);
      const words = splitWords(head).filter((w) => w.startsWith('/'));
      pending.push(...words);
      if (open !== -1) {
        patterns.push(...pending);
        pending = [];
        depth++;
        if (line.includes('}', open)) depth--;
      } else if (words.length === 0) {
        pending = []; // a global directive such as `weekly` or `rotate 4`
      }
    } else {
      if (line.startsWith('}')) depth--;
      else if (line.includes('{')) depth++; // postrotate scripts are not nested, but a stray brace must not derail us
    }
  }
  return { patterns, includes };
}

function splitWords(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

/** Whether `path` is covered by a glob pattern (a `*` does not cross `/`, as in glob(3)). */
export function globMatches(pattern: string, path: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) re += '\\[';
      else {
        const body = pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`).test(path);
}
