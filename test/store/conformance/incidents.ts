/** Conformance: incidents (one open per condition, flap damping) and the notification outbox. */
import { describe, expect, it } from 'vitest';
import type { NewIncident } from '../../../src/store/types.ts';
import { newRunId } from '../../../src/util/ids.ts';
import { at, type StoreContext } from './fixtures.ts';

function incident(kind: NewIncident['kind'], subject: string, ms: number, channels: string[] = ['ops']): NewIncident {
  return {
    id: newRunId(),
    kind,
    subject,
    summary: `${subject} is late`,
    detail: { fix: 'look at it', since: at(ms) },
    at: at(ms),
    notify: channels.map((channel) => ({ id: newRunId(), channel })),
  };
}

export function describeIncidents(ctx: StoreContext): void {
  describe('incidents and the outbox', () => {
    it('opens once per kind and subject, queuing one notification per channel', async () => {
      const first = await ctx.store.openIncident(incident('job_late', 'scan', 0, ['ops', 'pager']));
      expect(first.outcome).toBe('opened');
      expect(first.incident).toMatchObject({ kind: 'job_late', subject: 'scan', state: 'open', resolved_at: null, detail: { fix: 'look at it' } });
      const again = await ctx.store.openIncident(incident('job_late', 'scan', 1000));
      expect(again).toEqual({ incident: first.incident, outcome: 'already_open' });
      expect((await ctx.store.openIncident(incident('check_down', 'scan', 1000))).outcome).toBe('opened');
      const due = await ctx.store.listDueNotifications(at(0), 10);
      expect(due.map((e) => [e.channel, e.event, e.incident_id])).toEqual([
        ['ops', 'incident.opened', first.incident.id],
        ['pager', 'incident.opened', first.incident.id],
      ]);
      expect(await ctx.store.listIncidents({ open: true })).toHaveLength(2);
    });

    it("lists one incident's notifications, oldest first, with how each went (the incident page's log)", async () => {
      const { incident: late } = await ctx.store.openIncident(incident('job_late', 'scan', 0, ['ops', 'pager']));
      await ctx.store.openIncident(incident('check_down', 'backup', 0, ['ops']));
      const [ops, pager] = await ctx.store.listDueNotifications(at(0), 10);
      await ctx.store.markNotificationSent(ops!.id, at(50));
      await ctx.store.markNotificationFailed(pager!.id, 'HTTP 503', at(10_000));
      await ctx.store.resolveIncident({ kind: 'job_late', subject: 'scan', at: at(1000), notify: [{ id: newRunId(), channel: 'ops' }], notify_at: at(1000) });
      const log = await ctx.store.listNotifications(late.id);
      expect(log.map((e) => [e.channel, e.event, e.state, e.attempts, e.last_error])).toEqual([
        ['ops', 'incident.opened', 'sent', 1, null],
        ['pager', 'incident.opened', 'pending', 1, 'HTTP 503'],
        ['ops', 'incident.resolved', 'pending', 0, null],
      ]);
      expect(log[0]!.sent_at).toBe(at(50));
      expect(await ctx.store.listNotifications('no-such-incident')).toEqual([]);
    });

    it('resolves with a recovery due later; a return before it is sent reopens the same incident silently', async () => {
      const { incident: opened } = await ctx.store.openIncident(incident('job_late', 'scan', 0));
      for (const e of await ctx.store.listDueNotifications(at(0), 10)) await ctx.store.markNotificationSent(e.id, at(10));
      const resolved = await ctx.store.resolveIncident({ kind: 'job_late', subject: 'scan', at: at(1000), notify: [{ id: newRunId(), channel: 'ops' }], notify_at: at(61_000) });
      expect(resolved).toMatchObject({ id: opened.id, state: 'resolved', resolved_at: at(1000) });
      expect(await ctx.store.listDueNotifications(at(60_000), 10)).toEqual([]);
      expect(await ctx.store.nextNotificationDue()).toBe(at(61_000));

      const back = await ctx.store.openIncident(incident('job_late', 'scan', 2000));
      expect(back.outcome).toBe('reopened');
      expect(back.incident).toMatchObject({ id: opened.id, state: 'open', resolved_at: null, detail: { flaps: 1 } });
      expect(await ctx.store.nextNotificationDue()).toBeNull(); // the recovery was cancelled, nothing new queued

      // Resolved again and the recovery sent: a later return is a new incident, told anew.
      await ctx.store.resolveIncident({ kind: 'job_late', subject: 'scan', at: at(3000), notify: [{ id: newRunId(), channel: 'ops' }], notify_at: at(3000) });
      for (const e of await ctx.store.listDueNotifications(at(3000), 10)) await ctx.store.markNotificationSent(e.id, at(3001));
      const fresh = await ctx.store.openIncident(incident('job_late', 'scan', 4000));
      expect(fresh.outcome).toBe('opened');
      expect(fresh.incident.id).not.toBe(opened.id);
      expect(await ctx.store.resolveIncident({ kind: 'stalled', subject: 'scan', at: at(0), notify: [], notify_at: at(0) })).toBeNull();
    });

    it('retries, gives up, and summarises each channel', async () => {
      await ctx.store.openIncident(incident('job_late', 'scan', 0, ['ops', 'mail']));
      const [ops, mail] = await ctx.store.listDueNotifications(at(0), 10);
      await ctx.store.markNotificationFailed(ops!.id, 'HTTP 503', at(5000));
      await ctx.store.markNotificationFailed(mail!.id, '550 no such user', null);
      expect(await ctx.store.listDueNotifications(at(4999), 10)).toEqual([]);
      const retry = await ctx.store.listDueNotifications(at(5000), 10);
      expect(retry).toMatchObject([{ id: ops!.id, attempts: 1, last_error: 'HTTP 503', state: 'pending' }]);
      expect(await ctx.store.outboxSummary()).toEqual([
        { channel: 'mail', pending: 0, attempts: 0, last_error: '550 no such user', oldest_at: null, failed: 1 },
        { channel: 'ops', pending: 1, attempts: 1, last_error: 'HTTP 503', oldest_at: at(0), failed: 0 },
      ]);
      expect(await ctx.store.markNotificationSent(ops!.id, at(5001))).toBe(true);
      expect(await ctx.store.markNotificationSent(ops!.id, at(5002))).toBe(false);
      expect(await ctx.store.nextNotificationDue()).toBeNull();
    });

    it('renotifies only open incidents, and prunes resolved ones with their notifications', async () => {
      const { incident: open } = await ctx.store.openIncident(incident('stalled', 'agent', 0));
      expect(await ctx.store.renotifyIncident(open.id, at(5000), [{ id: newRunId(), channel: 'ops' }])).toBe(true);
      expect((await ctx.store.getIncident(open.id))?.last_notified_at).toBe(at(5000));
      expect((await ctx.store.listDueNotifications(at(5000), 10)).map((e) => e.event)).toEqual(['incident.opened', 'incident.renotify']);
      expect(await ctx.store.updateIncident(open.id, 'agent stalled 20m', { fix: 'restart it', stderr_tail: ['x'] })).toBe(true);
      expect(await ctx.store.getIncident(open.id)).toMatchObject({ summary: 'agent stalled 20m', detail: { stderr_tail: ['x'] } });
      await ctx.store.resolveIncident({ kind: 'stalled', subject: 'agent', at: at(6000), notify: [], notify_at: at(6000) });
      expect(await ctx.store.renotifyIncident(open.id, at(7000), [])).toBe(false);
      expect(await ctx.store.pruneIncidents(at(6000))).toEqual({ deleted: 0 });
      expect(await ctx.store.pruneIncidents(at(6001))).toEqual({ deleted: 1 });
      expect(await ctx.store.listDueNotifications(at(99_000), 10)).toEqual([]);
      expect(await ctx.store.listIncidents({})).toEqual([]);
    });
  });
}
