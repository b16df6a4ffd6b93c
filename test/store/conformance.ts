/**
 * The Store conformance suite: every semantic of the Store interface as a test, written against the interface only,
 * so each dialect runs the same file (sqlite.test.ts today; the PostgreSQL store later).
 *
 * Usage: `describeStoreConformance('sqlite', async () => ({ store, cleanup }))`. `open` must return a fresh, empty
 * store each time; the suite calls `migrate()` itself, and `cleanup` runs after every test, failed ones included.
 */
import { describe } from 'vitest';
import { describeChecks } from './conformance/checks.ts';
import { describeContainment } from './conformance/containment.ts';
import { describeIncidents } from './conformance/incidents.ts';
import { describeJobState } from './conformance/job-state.ts';
import { describeLocks } from './conformance/locks.ts';
import { describePruning } from './conformance/prune.ts';
import { describeRunEnds } from './conformance/run-ends.ts';
import { describeRunQueries } from './conformance/run-queries.ts';
import { describeRunStarts } from './conformance/run-starts.ts';
import { describeTasks } from './conformance/tasks.ts';
import { describeCoordination } from './conformance/coordination.ts';
import { useStore, type OpenedStore } from './conformance/fixtures.ts';

export type { OpenedStore };

export function describeStoreConformance(name: string, open: () => Promise<OpenedStore>): void {
  describe(`Store conformance: ${name}`, () => {
    const ctx = useStore(open);
    describeRunStarts(ctx);
    describeRunEnds(ctx);
    describeRunQueries(ctx);
    describeLocks(ctx);
    describeJobState(ctx);
    describePruning(ctx);
    describeChecks(ctx);
    describeIncidents(ctx);
    describeContainment(ctx);
    describeTasks(ctx);
    describeCoordination(ctx);
  });
}
