import type { ResolvedConfig } from '../config/types.ts';
import type { Run, Store } from '../store/types.ts';
import type { DaemonInfo } from '../status/build-status.ts';
import type { PingIntake } from './ping-intake.ts';
import type { CheckSnapshot } from '../watch/check-watcher.ts';

export interface HealthReason {
  subject: string;
  kind: string;
  summary: string;
}

/** What the HTTP API needs from the running daemon; the daemon implements it, tests can too. */
export interface ControlPlane {
  config(): ResolvedConfig;
  /** The daemon's base URL, e.g. http://127.0.0.1:8377. */
  url(): string;
  readonly store: Store;
  daemonInfo(): DaemonInfo;
  /** Asks for a start now; resolves with the run as recorded (running, queued or skipped). */
  trigger(job: string, trigger: 'manual' | 'api'): Promise<Run>;
  setPaused(job: string, paused: boolean): Promise<void>;
  /** Resolves when the run reaches a final state, or after `timeoutMs`, whichever is first. */
  waitForRunEnd(runId: string, timeoutMs: number): Promise<void>;
  /** Kills a run this daemon supervises; false when it is not running here. */
  cancelRun(runId: string): boolean;
  /** Why the daemon is not healthy: checks down, its own loops stuck, alerts not going out. Empty when healthy. */
  healthReasons(): Promise<HealthReason[]>;
  /** Where Healthchecks.io-compatible pings go. */
  readonly pings: PingIntake;
  /** Records a heartbeat of a running run (a note goes into its log); false when it is not running. */
  heartbeat(runId: string, note: string | null): Promise<boolean>;
  /** Records outputs and spend a running run reports (breakers, spend budgets); false when it is not running. */
  reportOutput(runId: string, outputs: number, spend: number): Promise<boolean>;
  /** Sets when a running run wants its retry (honoured when it exits 75); the ISO time, or null when not running. */
  setRetryAfter(runId: string, afterMs: number): Promise<string | null>;
  /** Every check with its state now. */
  checks(): Promise<CheckSnapshot[]>;
  /** The run a per-run token (NIGHTSHIFT_RUN_TOKEN) was issued to, or null when it is not one of ours. */
  runIdForToken(token: string): string | null;
  /** The Prometheus exposition of the daemon's metrics. */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Logs a failure the HTTP layer answered for (a 500, a ping the store could not record). */
  reportError(context: string, error: unknown): void;
  /** The bearer token that state-changing requests must present. */
  apiToken(): string;
}
