/** Parsers for systemctl's answers. */
import type { SystemdUnit } from '../types.ts';

/** `systemctl show --property=Id,ActiveState,SubState,NRestarts '*.service'`: blank-line separated blocks. */
export function parseSystemctlShow(text: string): SystemdUnit[] {
  const units: SystemdUnit[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const props = new Map<string, string>();
    for (const line of block.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) props.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
    }
    const id = props.get('Id');
    if (!id) continue;
    const restarts = props.get('NRestarts');
    units.push({
      id,
      activeState: props.get('ActiveState') ?? '',
      subState: props.get('SubState') ?? '',
      restarts: restarts === undefined || restarts === '' || !/^\d+$/.test(restarts) ? null : Number(restarts),
    });
  }
  return units;
}

/** `systemctl list-units --failed --plain --no-legend`: the first word of each line (a `●` may precede it). */
export function parseFailedUnits(text: string): string[] {
  const units: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^[\s●*×]+/u, '');
    const unit = line.split(/\s+/)[0];
    if (unit && /\.[a-z]+$/.test(unit)) units.push(unit);
  }
  return units;
}

/** `systemctl is-active UNIT`: `active` (or `activating`/`reloading`) or not; null for anything else. */
export function parseIsActive(text: string): boolean | null {
  const word = text.trim().split('\n')[0]?.trim();
  if (word === 'active' || word === 'activating' || word === 'reloading') return true;
  if (word === 'inactive' || word === 'failed' || word === 'deactivating' || word === 'unknown') return false;
  return null;
}
