/**
 * Cluster membership on PostgreSQL. Each node keeps one session of its own (outside the store's pool) on which it
 *
 * - heartbeats its row in `nodes` every `cluster.heartbeat`, fenced by the epoch it registered with;
 * - tries the leader's advisory lock when it does not lead. Whoever holds it leads; the session ending (kill -9, a lost
 *   connection, a database restart) frees it at once. A leader that stops heartbeating but keeps its session (SIGSTOP,
 *   a hung host) has its session ended by another node after `cluster.dead_after`;
 * - as leader, declares nodes silent for `dead_after` dead and hands each to the reaper (their runs are lost and
 *   retried elsewhere). A leader whose own session is younger than `dead_after` waits before judging: after a database
 *   restart every row is stale, and the live nodes need one heartbeat to show it;
 * - LISTENs for queued runs and tasks, so an idle node wakes at once instead of at its next fallback poll.
 *
 * A node that finds its heartbeat refused was declared dead while it was away: it says so (`fenced`: the daemon kills
 * what it still runs, which the store no longer lets it finish) and registers again.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type pg from 'pg';
import { WAKE_CHANNEL } from '../store/postgres/runs.ts';
import type { Logger } from '../util/logger.ts';
import type { CancelReason, Membership, MembershipEvents, NodeView, ReapNode } from './membership.ts';
import * as sql from './postgres-nodes.ts';

/** After ending a silent leader's sessions: how often, and how many times, the lock it held is tried at once. */
const UNSEAT_WAIT_MS = 50;
const UNSEAT_TRIES = 10;

export interface PostgresMembershipOptions {
  url: string;
  node: string;
  /** The application_name of this process's connections, store pool included (membership.ts sessionName). */
  session: string;
  version: string;
  heartbeatMs: number;
  deadAfterMs: number;
  logger: Logger;
  reap: ReapNode;
  /** Whether a process on this host is alive (a restarted node reclaiming its own name from a dead process). */
  isAlive: (pid: number) => Promise<boolean>;
}

/** Thrown by start() when a live node already uses this node's name. */
export class NodeNameInUseError extends Error {
  override name = 'NodeNameInUseError';
}

export class PostgresMembership implements Membership {
  readonly events = new EventEmitter<MembershipEvents>();
  readonly #options: PostgresMembershipOptions;
  readonly #logger: Logger;
  #client: pg.Client | null = null;
  #schema = '';
  /** When the current session connected: a leader judges others only once it has been connected for dead_after. */
  #connectedAt = 0;
  #epoch: number | null = null;
  #leading = false;
  #nodes: NodeView[] = [];
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> | null = null;
  #stopped = false;
  /** Stopping: no longer tries to lead (resign()). */
  #resigned = false;
  /** Failed heartbeats in a row: the first is logged as an error, the rest at debug until one works. */
  #failures = 0;

  constructor(options: PostgresMembershipOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'cluster' });
  }

  get leading(): boolean {
    return this.#leading;
  }

  nodes(): NodeView[] {
    return this.#nodes;
  }

  async start(): Promise<void> {
    // Loaded here, not imported above: an SQLite daemon, which never gets here, does not load pg (its idle memory).
    const { maskUrl } = await import('../store/postgres/connection.ts');
    const client = await this.#connect();
    const { node, heartbeatMs, deadAfterMs } = this.#options;
    // A name in use by a live node is refused; one left by a dead process of this host, or silent for dead_after, is
    // taken over. A name the leader is still reaping is waited for (its runs are being marked lost).
    for (let waited = 0; ; waited += heartbeatMs) {
      const existing = await sql.findNode(client, node);
      const reusable =
        existing === undefined ||
        existing.age_ms > deadAfterMs ||
        (existing.host === hostname() && existing.pid !== process.pid && !(await this.#options.isAlive(existing.pid)));
      if (reusable && !existing?.dead) break;
      if (!existing!.dead || waited > 2 * deadAfterMs) {
        throw new NodeNameInUseError(
          `node name ${node} is in use by a live node (host ${existing!.host}, pid ${existing!.pid}) on ${maskUrl(this.#options.url)}; ` +
            `give this daemon another name (node: in the config, or NIGHTSHIFT_NODE), or stop that one first`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, heartbeatMs));
    }
    await this.#register(client);
    await this.#tick();
  }

  async resign(): Promise<void> {
    this.#resigned = true;
    await this.#ticking;
    const client = this.#client;
    if (!this.#leading || client === null) return;
    try {
      await sql.stepDown(client, this.#options.node);
      this.#logger.info({ node: this.#options.node }, 'stepped down: another node takes the lead at its next heartbeat');
    } catch (error) {
      // The lock goes with the session at stop() anyway.
      this.#logger.warn({ err: error }, 'could not step down; the lead goes when this node leaves');
    }
    this.#setLeading(false);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#ticking;
    const client = this.#client;
    this.#client = null;
    if (client === null) return;
    try {
      if (this.#leading) await sql.stepDown(client, this.#options.node);
      if (this.#epoch !== null) await sql.leave(client, this.#options.node, this.#epoch);
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not leave the cluster cleanly; the others will find this node stale');
    }
    this.#setLeading(false);
    await client.end().catch(() => {});
  }

  async askToCancel(runId: string, why: CancelReason): Promise<boolean> {
    const client = await this.#connect();
    await sql.notifyCancel(client, runId, why);
    return true;
  }

  async #connect(): Promise<pg.Client> {
    if (this.#client !== null) return this.#client;
    const { createSessionClient } = await import('../store/postgres/connection.ts');
    // A heartbeat that takes as long as dead_after is as good as none: it is abandoned, and the session with it.
    const client = createSessionClient(this.#options.url, this.#options.session, this.#options.deadAfterMs);
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, null));
    client.on('notification', (message) => {
      if (message.channel !== WAKE_CHANNEL || message.payload === undefined) return;
      const [kind, schema, runId, why] = message.payload.split(':');
      if (schema !== this.#schema) return;
      if (kind === 'runs' || kind === 'tasks') this.events.emit('wake', kind);
      else if (kind === 'cancel' && runId !== undefined) this.events.emit('cancel', runId, why === 'replaced' ? 'replaced' : 'api');
    });
    try {
      await client.connect();
      this.#schema = await sql.schemaOf(client);
      await client.query(`LISTEN ${WAKE_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    this.#client = client;
    this.#connectedAt = Date.now();
    return client;
  }

  /** The session is gone: so is the leader lock it held. The next tick reconnects. */
  #lost(client: pg.Client, error: Error | null): void {
    if (this.#client !== client) return;
    this.#client = null;
    void client.end().catch(() => {});
    if (this.#leading) this.#logger.warn({ err: error }, 'the cluster session ended: no longer the leader');
    this.#setLeading(false);
  }

  async #register(client: pg.Client): Promise<void> {
    const { node, version, pid } = { ...this.#options, pid: process.pid };
    this.#epoch = await sql.register(client, { name: node, session: this.#options.session, host: hostname(), pid, version });
    this.#logger.info({ node, epoch: this.#epoch }, `joined the cluster as ${node}`);
  }

  #tick(): Promise<void> {
    this.#ticking ??= this.#beat().finally(() => {
      this.#ticking = null;
      if (!this.#stopped) {
        this.#timer = setTimeout(() => void this.#tick(), this.#options.heartbeatMs);
        this.#timer.unref();
      }
    });
    return this.#ticking;
  }

  async #beat(): Promise<void> {
    const { node, deadAfterMs } = this.#options;
    try {
      const client = await this.#connect();
      if (!(await sql.beat(client, node, this.#epoch ?? -1)) && !(await this.#rejoin(client))) return;
      let took = false;
      if (!this.#leading && !this.#resigned) {
        took = await sql.tryLead(client);
        if (!took) {
          const unseated = await sql.unseatStaleLeader(client, deadAfterMs);
          if (unseated !== null) {
            this.#logger.warn({ leader: unseated }, `leader ${unseated} stopped heartbeating: its sessions were ended so another node can lead`);
            // Its lock goes as its backend exits, a moment after being told to: take it now, not a heartbeat later.
            for (let i = 0; i < UNSEAT_TRIES && !took; i++) {
              await new Promise((resolve) => setTimeout(resolve, UNSEAT_WAIT_MS));
              took = await sql.tryLead(client);
            }
          }
        }
        if (took) await sql.markLeader(client, node);
      }
      // A new leader reaps before it fires: the dead leader's run still holds its job's lock until then, and the first
      // fire would be skipped as an overlap.
      if ((this.#leading || took) && Date.now() - this.#connectedAt >= deadAfterMs) await this.#reapDead(client);
      if (took) {
        this.#logger.info({ node }, `${node} is the leader`);
        this.#setLeading(true);
      }
      this.#nodes = await sql.listNodes(client);
      if (this.#failures > 0) this.#logger.info({ failures: this.#failures }, 'cluster heartbeats work again');
      this.#failures = 0;
    } catch (error) {
      if (this.#failures++ === 0) this.#logger.error({ err: error }, `cluster heartbeat failed; trying again every ${this.#options.heartbeatMs} ms (said once until one works)`);
      else this.#logger.debug({ err: error }, 'cluster heartbeat failed again');
      // A session that errored (or a query that timed out on it) is not trusted with the leader lock: end it and start
      // over on a new one.
      if (this.#client !== null) this.#lost(this.#client, error instanceof Error ? error : null);
    }
  }

  /**
   * The heartbeat was refused: this node was declared dead while it was away (or its name was taken over). Its runs
   * were lost and are retried elsewhere; the daemon kills what it still runs of them (`fenced`). It joins again once
   * the leader has finished with its old row. Returns whether it is a member again.
   */
  async #rejoin(client: pg.Client): Promise<boolean> {
    const { node } = this.#options;
    if (this.#epoch !== null) {
      this.#logger.error({ node }, 'this node was declared dead while it was away; its runs were given to other nodes');
      this.#epoch = null;
      if (this.#leading) {
        await sql.stepDown(client, node);
        this.#setLeading(false);
      }
      this.events.emit('fenced');
    }
    if ((await sql.findNode(client, node))?.dead) return false;
    await this.#register(client);
    return true;
  }

  async #reapDead(client: pg.Client): Promise<void> {
    for (const dead of await sql.markDead(client, this.#options.node, this.#options.deadAfterMs)) {
      this.#logger.warn({ node: dead }, `node ${dead} stopped heartbeating: its runs are lost and retried elsewhere`);
      if (await this.#reap(dead)) await sql.forget(client, dead);
    }
    for (const orphan of await sql.orphanNodes(client)) {
      this.#logger.warn({ node: orphan }, `runs of ${orphan}, which is no member of the cluster, are lost and retried`);
      await this.#reap(orphan);
    }
  }

  /** A failed reap (the store's pool, not this session) is tried again next heartbeat: the dead row stays till then. */
  async #reap(node: string): Promise<boolean> {
    try {
      await this.#options.reap(node);
      return true;
    } catch (error) {
      this.#logger.error({ err: error, node }, `could not mark the runs of ${node} lost; trying again at the next heartbeat`);
      return false;
    }
  }

  #setLeading(leading: boolean): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    this.events.emit('leader', leading);
  }
}
