/**
 * What the Healthchecks.io-compatible ping routes need from the watcher: the HTTP layer parses and answers, the
 * watcher (src/watch/) records. Declared here, by its consumer, so http/ depends on no implementation.
 */
import type { PingKind } from '../store/types.ts';

export interface PingRequest {
  kind: PingKind;
  /** For `exit` pings (`/ping/<uuid>/<0-255>`); null otherwise. */
  exitCode: number | null;
  /** `?rid=`, pairing a start with its end; null when absent. */
  rid: string | null;
  /** The request body (already cut to the body limit), as text; null when empty. */
  body: string | null;
}

export type PingOutcome = 'ok' | 'created' | 'not_found';

export interface PingIntake {
  /** Records a ping to the check with this uuid (already validated as a uuid); 'not_found' when there is none. */
  pingByUuid(uuid: string, ping: PingRequest): Promise<PingOutcome>;
  /**
   * Records a ping to the check with this slug (its name). With `create`, an unknown slug becomes a new check
   * ('created'); otherwise it is 'not_found'. The caller has already checked the ping key.
   */
  pingBySlug(slug: string, ping: PingRequest, create: boolean): Promise<PingOutcome>;
}
