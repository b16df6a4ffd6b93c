/** Small helpers the checks share for wording findings. */
import { formatSizeApprox } from '../../config/units.ts';
import type { PathMode } from '../types.ts';

export const size = formatSizeApprox;

export function percent(part: number, whole: number): string {
  return `${whole === 0 ? 0 : Math.round((part / whole) * 1000) / 10}%`;
}

/** `0o644` → `0644`. */
export function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/** Group or others have any access, and can get to the path at all. */
export function exposed(entry: PathMode): boolean {
  return (entry.mode & 0o077) !== 0 && entry.reachable;
}

/** Who can do what, in words: `group can read, others can read`. */
export function describeAccess(mode: number): string {
  const who = (bits: number, name: string) => {
    const can = [bits & 4 ? 'read' : '', bits & 2 ? 'write' : '', bits & 1 ? 'enter/execute' : ''].filter(Boolean);
    return can.length ? `${name} can ${can.join('/')}` : '';
  };
  return [who((mode >> 3) & 7, 'group'), who(mode & 7, 'others')].filter(Boolean).join(', ');
}

export function userName(users: Map<number, string>, uid: number | null): string {
  return uid === null ? '?' : (users.get(uid) ?? String(uid));
}

/** Shell-quotes a path for a fix line when it needs it. */
export function q(path: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}
