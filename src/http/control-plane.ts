import type { ResolvedConfig } from '../config/types.ts';
import type { Run, Store } from '../store/types.ts';
import type { DaemonInfo } from '../status/build-status.ts';

export interface HealthReason {
  subject: string;
  kind: string;
  summary: string;
}

/** What the HTTP API needs from the running daemon; the daemon implements it, tests can too. */
export interface ControlPlane {
  config(): ResolvedConfig;
  readonly store: Store;
  daemonInfo(): DaemonInfo;
  /** Asks for a start now; resolves with the run as recorded (running, queued or skipped). */
  trigger(job: string, trigger: 'manual' | 'api'): Promise<Run>;
  setPaused(job: string, paused: boolean): Promise<void>;
  /** Resolves when the run reaches a final state, or after `timeoutMs`, whichever is first. */
  waitForRunEnd(runId: string, timeoutMs: number): Promise<void>;
  /** Kills a run this daemon supervises; false when it is not running here. */
  cancelRun(runId: string): boolean;
  /** The daemon's own loops; job and check lateness join these once checks exist. */
  healthReasons(): HealthReason[];
  /** The bearer token that state-changing requests must present. */
  apiToken(): string;
}
