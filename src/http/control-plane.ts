import type { NodeView } from '../cluster/membership.ts';
import type { ResolvedConfig } from '../config/types.ts';
import type { Incident, Run, Store } from '../store/types.ts';
import type { DaemonInfo } from '../status/build-status.ts';
import type { PingIntake } from './ping-intake.ts';
import type { CheckSnapshot } from '../watch/check-watcher.ts';
import type { Coordination } from '../coordination/coordination.ts';
import type { TaskService } from '../tasks/task-service.ts';

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
  /** The cluster's nodes as last seen (PostgreSQL); absent or empty: this daemon is the only node. */
  clusterNodes?(): NodeView[];
  /** Asks for a start now; resolves with the run as recorded (running, queued or skipped). */
  trigger(job: string, trigger: 'manual' | 'api'): Promise<Run>;
  setPaused(job: string, paused: boolean): Promise<void>;
  /** Resolves when the run reaches a final state, or after `timeoutMs`, whichever is first. */
  waitForRunEnd(runId: string, timeoutMs: number): Promise<void>;
  /** Kills a run this daemon supervises; false when it is not running here. */
  cancelRun(runId: string): boolean;
  /** Asks the node supervising a run of the cluster to cancel it (PostgreSQL); false where there is no other node. */
  cancelElsewhere?(run: Run): Promise<boolean>;
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
  /** Shared state, named locks and upstream freshness (src/http/coordination-routes.ts). */
  readonly coordination: Coordination;
  /** Task queues (src/http/task-routes.ts). */
  readonly tasks: { readonly service: TaskService };
  /** What happens in the daemon, as it happens (the dashboard and `/api/v1/events` listen). */
  readonly eventHub: EventFeed;
  /** The host's `doctor` findings, cached (the checks are not cheap); null when doctor is not available here. */
  hostFindings(): Promise<HostFindings | null>;
  /** Closes the job's breakers and lifts a halt (resolving their incidents), without touching a pause. */
  resetBreaker(job: string): Promise<void>;
}

/** One event of the daemon's feed; `type` names it as `/api/v1/events` sends it (the SSE `event:` field). */
export type DaemonEvent =
  | { type: 'run.started' | 'run.ended' | 'run.skipped' | 'run.queued'; run: Run }
  | { type: 'incident.opened' | 'incident.resolved'; incident: Incident }
  /** `target` is the check's uuid or slug as it was pinged. */
  | { type: 'check.pinged'; target: string; kind: string; exit_code: number | null }
  | { type: 'job.changed'; job: string; change: 'paused' | 'resumed' | 'reset' }
  /** Fresh host findings (doctor) are in. */
  | { type: 'host.checked' };

export interface EventFeed {
  /** Calls `listener` for every event from now on; returns the unsubscribe. */
  subscribe(listener: (event: DaemonEvent) => void): () => void;
}

/** `doctor --json` findings (DESIGN.md), with when they were looked at. */
export interface HostFinding {
  id: string;
  severity: 'critical' | 'warning' | 'info';
  title: string;
  detail: string;
  fix: string;
}

export interface HostFindings {
  /** null while the first look is under way. */
  checked_at: string | null;
  findings: HostFinding[];
}
