import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Per-run API tokens: `<run id>.<HMAC-SHA256(secret, run id)>`. A run proves who it is without the daemon storing a
 * token per run, and a token names exactly one run, so a job can act as itself and only itself on the API.
 */
export class RunTokens {
  private readonly secret: string;

  constructor(secret: string) {
    this.secret = secret;
  }

  issue(runId: string): string {
    return `${runId}.${this.mac(runId)}`;
  }

  /** The run id the token was issued for, or null when it is not one of ours. */
  verify(token: string): string | null {
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return null;
    const runId = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.mac(runId));
    return given.length === expected.length && timingSafeEqual(given, expected) ? runId : null;
  }

  private mac(runId: string): string {
    return createHmac('sha256', this.secret).update(runId).digest('base64url');
  }
}
