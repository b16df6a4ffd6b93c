import { readFile } from 'node:fs/promises';
import { parse as parseDotenv } from 'dotenv';
import type { JobConfig } from '../config/types.ts';
import type { Run } from '../store/types.ts';
import { RUN_MARKER_VAR } from '../runner/types.ts';

export interface RunEnvContext {
  /** The daemon's base URL, e.g. http://127.0.0.1:8377 (no trailing slash). */
  daemonUrl: string;
  runToken: string;
  /** The environment runs inherit (the daemon's own, by default). */
  inherited: NodeJS.ProcessEnv;
  /** Set when the job runs as another user: HOME, USER and LOGNAME become theirs, as login(1) and cron do. */
  user?: { name: string; home: string } | null;
}

/** Thrown when a run's environment cannot be built; the run ends `failed` with `reason: start_failed`. */
export class RunEnvError extends Error {
  override name = 'RunEnvError';
}

/**
 * The environment of a run, lowest precedence first: the daemon's environment, the job's `env_file`, its `env`, then
 * nightshift's own variables (which a job cannot override: the marker must be exact for the tree kill to work).
 */
export async function buildRunEnv(job: JobConfig, run: Pick<Run, 'id' | 'attempt' | 'degraded'>, ctx: RunEnvContext) {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(ctx.inherited)) if (value !== undefined) env[key] = value;
  if (ctx.user) {
    env.HOME = ctx.user.home;
    env.USER = ctx.user.name;
    env.LOGNAME = ctx.user.name;
  }
  if (job.envFile) Object.assign(env, await readEnvFile(job.envFile, job.name));
  Object.assign(env, job.env);
  env[RUN_MARKER_VAR] = run.id;
  env.NIGHTSHIFT_JOB = job.name;
  env.NIGHTSHIFT_ATTEMPT = String(run.attempt);
  env.NIGHTSHIFT_URL = ctx.daemonUrl;
  // The token rides along so `curl -fsS "$NIGHTSHIFT_HEARTBEAT_URL"` is all a script needs (watch-routes.ts).
  env.NIGHTSHIFT_HEARTBEAT_URL = `${ctx.daemonUrl}/api/v1/runs/${run.id}/heartbeat?token=${encodeURIComponent(ctx.runToken)}`;
  env.NIGHTSHIFT_RUN_TOKEN = ctx.runToken;
  if (run.degraded) env.NIGHTSHIFT_DEGRADED = '1';
  else delete env.NIGHTSHIFT_DEGRADED;
  return env;
}

async function readEnvFile(path: string, job: string): Promise<Record<string, string>> {
  try {
    return parseDotenv(await readFile(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new RunEnvError(`env_file ${path} of job ${job} cannot be read (${code}); fix the path or remove env_file`);
  }
}
