/**
 * Quoting for systemd unit files (systemd.syntax(7), systemd.service(7) "Command lines"). Only what the generated
 * unit needs: `%` starts a specifier everywhere, `$` expands a variable in Exec lines, and a word with a space or a
 * quote must be double-quoted with C-style escapes.
 */

/** A value that systemd reads as one word after specifier expansion: `%` doubled, quoted when it has a blank. */
export function unitWord(text: string): string {
  const escaped = text.replaceAll('%', '%%');
  return /[\s"'\\]/.test(escaped) ? `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"` : escaped;
}

/** One argument of an Exec line: as unitWord, and `$` doubled so systemd does not expand it. */
export function execArg(text: string): string {
  return unitWord(text.replaceAll('$', () => '$$'));
}

/** A value read to the end of the line (WorkingDirectory=, Description=): only specifiers need escaping. */
export function unitLineValue(text: string): string {
  return text.replaceAll('%', '%%').replaceAll('\n', ' ');
}

/** A unit name from a project name: characters systemd does not allow in unit names become `-`. */
export function unitNameFor(project: string): string {
  const safe = project.replace(/[^A-Za-z0-9:_.-]/g, '-').replace(/^-+/, '') || 'project';
  return `nightshift-${safe}`;
}
