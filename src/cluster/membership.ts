/**
 * A node's place among the daemons sharing one store: whether it leads (fires schedules, runs the watchers that must
 * act once, reaps dead nodes), what the other nodes are, and the signals the daemon acts on. SQLite has one node that
 * always leads (SoloMembership); PostgreSQL elects one (src/cluster/postgres-membership.ts).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ClusterNode } from '../store/types.ts';

/** One node as `nightshift status` shows it (the store's ClusterNode). */
export type NodeView = ClusterNode;

export interface MembershipEvents {
  /** This node became the leader (true) or stopped being it (false: its session ended, or it stepped down). */
  leader: [leading: boolean];
  /**
   * This node was declared dead while it was away (stopped, cut off) and its runs were given to other nodes: it must
   * kill what it still runs for them. It has registered again and carries on as a new member.
   */
  fenced: [];
  /** Another node queued runs or tasks: look for work now instead of at the next fallback poll. */
  wake: [kind: 'runs' | 'tasks'];
  /** Some node was asked to cancel this run (API, dashboard, `overlap: replace`); the node supervising it does. */
  cancel: [runId: string, why: CancelReason];
}

/**
 * The application_name of all of a daemon's connections on PostgreSQL (its store's pool and its cluster session):
 * `nightshift <node> <6 hex>`, unique to this process, recorded in its `nodes` row (`session`).
 */
export function sessionName(node: string): string {
  // ASCII and short, so the server keeps it whole and it matches the recorded one byte for byte.
  return `nightshift ${node.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40)} ${randomBytes(3).toString('hex')}`;
}

/** Why a run is cancelled from another node: asked through the API, or replaced by a new start (`overlap: replace`). */
export type CancelReason = 'api' | 'replaced';

/** Marks a dead node's runs lost and retries them (src/cluster/node-reaper.ts); called by the leader only. */
export type ReapNode = (node: string) => Promise<void>;

export interface Membership {
  readonly events: EventEmitter<MembershipEvents>;
  /** True while this node leads. */
  readonly leading: boolean;
  /** Joins: registers this node (refusing a name a live node uses) and starts its heartbeat. */
  start(): Promise<void>;
  /**
   * Stops leading and never tries again, while staying a member (its runs are still its own): a stopping daemon
   * hands the schedules over at once instead of after its runs' shutdown grace.
   */
  resign(): Promise<void>;
  /** Leaves: steps down and removes this node's row, so the others need not wait for it to go stale. */
  stop(): Promise<void>;
  /** The nodes as of the last heartbeat, this one included. */
  nodes(): NodeView[];
  /** Asks every node to cancel `runId` (the one supervising it does); false where there are no other nodes. */
  askToCancel(runId: string, why: CancelReason): Promise<boolean>;
}

/**
 * The one node of an SQLite store: it leads from the start. The state directory's instance lock (acquired by
 * `start`) keeps a second daemon out, since two would each fire every schedule.
 */
export class SoloMembership implements Membership {
  readonly events = new EventEmitter<MembershipEvents>();
  readonly leading = true;
  readonly #name: string;
  readonly #acquire: () => Promise<() => Promise<void>>;
  readonly #running: () => number;
  #release: (() => Promise<void>) | null = null;

  constructor(name: string, acquire: () => Promise<() => Promise<void>>, running: () => number) {
    this.#name = name;
    this.#acquire = acquire;
    this.#running = running;
  }

  async start(): Promise<void> {
    this.#release = await this.#acquire();
  }

  /** The one node has nobody to hand over to. */
  async resign(): Promise<void> {}

  async stop(): Promise<void> {
    await this.#release?.();
    this.#release = null;
  }

  async askToCancel(): Promise<boolean> {
    return false;
  }

  nodes(): NodeView[] {
    return [{ name: this.#name, leader: true, last_seen_at: new Date().toISOString(), running: this.#running() }];
  }
}
