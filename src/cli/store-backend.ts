import type { ResolvedConfig } from '../config/types.ts';
import type { Incident, Ping, Run, Store } from '../store/types.ts';
import { buildStatus, type StatusJson } from '../status/build-status.ts';
import { checkJson, configuredBaseUrl, type CheckJson } from '../status/check-json.ts';
import { configuredChecks, viewChecks } from '../watch/check-plans.ts';
import type { Backend, OutgoingPing } from './backend.ts';
import { CliError } from './errors.ts';

/**
 * The CLI without a daemon: reads (and for pause/resume writes) the store directly. What needs the daemon's live
 * state — starting a run, recording a ping — says so and exits 1. Loaded only when the daemon does not answer.
 */
export class StoreBackend implements Backend {
  readonly kind = 'store';
  private readonly config: ResolvedConfig;
  private readonly store: Store;

  constructor(config: ResolvedConfig, store: Store) {
    this.config = config;
    this.store = store;
  }

  async status(): Promise<StatusJson> {
    // In a cluster the other nodes may be up while this one's daemon is not: the store knows them.
    const nodes = await this.store.listNodes();
    return buildStatus({ config: this.config, store: this.store, daemon: null, baseUrl: configuredBaseUrl(this.config), nodes });
  }

  history(job: string, limit: number): Promise<Run[]> {
    return this.store.listRuns({ job, limit });
  }

  setPaused(job: string, paused: boolean): Promise<void> {
    return this.store.setPaused(job, paused);
  }

  trigger(job: string): Promise<Run> {
    throw new CliError(
      `the daemon is not running (nothing answers on ${this.address()}), so it cannot start ${job}; ` +
        `start it with \`nightshift up\`, or run the command once with \`nightshift exec --job ${job} -- CMD\``,
    );
  }

  async waitForRun(runId: string): Promise<Run> {
    const run = await this.store.getRun(runId);
    if (!run) throw new CliError(`no run with id ${runId}`);
    return run;
  }

  incidents(query: { all: boolean; limit: number }): Promise<Incident[]> {
    return this.store.listIncidents({ open: query.all ? undefined : true, limit: query.limit });
  }

  /** The stored checks, in the state the daemon would see them in now (the state is worked out, not stored). */
  async checks(): Promise<CheckJson[]> {
    const { plans } = configuredChecks(this.config);
    return viewChecks(await this.store.listChecks(), plans, Date.now()).map((s) => checkJson(s, configuredBaseUrl(this.config)));
  }

  /** A configured check the daemon has not stored yet (it has not run since the check was added) has no pings: []. */
  async pings(check: string, limit: number): Promise<Ping[] | null> {
    return (await this.knows(check)) ? this.store.listPings(check, limit) : null;
  }

  /**
   * Not recorded into the store: the daemon acts on a ping as it records it (a fail opens an incident, a success
   * resolves one), and a daemon started later takes a stored `down` as already handled, so a fail written here
   * would never reach anyone.
   */
  async sendPing(check: string, _ping: OutgoingPing): Promise<boolean> {
    if (!(await this.knows(check))) return false;
    throw new CliError(
      `the daemon is not running (nothing answers on ${this.address()}), so the ping to ${check} was not recorded: ` +
        `pings need the daemon to act on them; start it with \`nightshift up\``,
    );
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private async knows(check: string): Promise<boolean> {
    return (await this.store.getCheck(check)) !== null || configuredChecks(this.config).specs.some((s) => s.name === check);
  }

  private address(): string {
    return `${this.config.http.host}:${this.config.http.port}`;
  }
}
