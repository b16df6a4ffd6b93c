/** A check as `status --json` and the API show it (DESIGN.md "JSON shapes"). */
import type { ResolvedConfig } from '../config/types.ts';
import type { CheckRecord } from '../store/types.ts';
import type { CheckView } from '../watch/check-state.ts';

export interface CheckJson {
  name: string;
  state: string;
  uuid: string;
  ping_url: string;
  origin: string;
  last_ping_at: string | null;
  last_success_at: string | null;
  next_due_at: string | null;
  down_since: string | null;
}

export function checkJson(snapshot: { record: CheckRecord; view: CheckView }, baseUrl: string): CheckJson {
  const { record, view } = snapshot;
  return {
    name: record.name,
    state: view.state,
    uuid: record.uuid,
    ping_url: `${baseUrl}/ping/${record.uuid}`,
    origin: record.origin,
    last_ping_at: record.last_ping_at,
    last_success_at: record.last_success_at,
    next_due_at: view.dueAt !== null && view.state !== 'down' ? new Date(view.dueAt).toISOString() : null,
    down_since: record.down_since,
  };
}

/** The daemon's URL as the config gives it, for when the daemon is not there to say (the CLI reading the store). */
export function configuredBaseUrl(config: ResolvedConfig): string {
  const host = config.http.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}`;
}
