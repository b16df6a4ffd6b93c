/**
 * The daemon under systemd's notify protocol, against a real unix datagram socket (a python3 listener standing in
 * for systemd): READY=1 once it has started, WATCHDOG=1 every WATCHDOG_USEC/2 only while its loops are healthy — a
 * blocked event loop stops them, and they resume after — STOPPING=1 on stop, and no run inherits NOTIFY_SOCKET.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeDir, startTestDaemon, type TestDaemon } from '../daemon/harness.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { startNotifyListener, type NotifyListener } from './notify-listener.ts';
import { openNotifySender } from '../../src/daemon/notify-socket.ts';
import { readSystemdEnv } from '../../src/daemon/sd-notify.ts';
import { Watchdog } from '../../src/daemon/watchdog.ts';

const WATCHDOG_USEC = 1_000_000; // pings every 500 ms
const BLOCK_MS = 3_000;

let daemon: TestDaemon | null = null;
let listener: NotifyListener | null = null;
let dirs: string[] = [];

afterEach(async () => {
  delete process.env['NOTIFY_SOCKET'];
  delete process.env['WATCHDOG_USEC'];
  await daemon?.cleanup();
  await listener?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  daemon = null;
  listener = null;
  dirs = [];
});

/** Blocks this process's event loop — the daemon's too, it runs in-process — for `ms`, from a timer. */
function blockEventLoopSoon(ms: number): Promise<{ startMs: number; endMs: number }> {
  return new Promise((resolve) => {
    setTimeout(() => {
      const startMs = Date.now();
      while (Date.now() - startMs < ms) {
        // busy: no timer, no I/O callback runs meanwhile
      }
      resolve({ startMs, endMs: Date.now() });
    }, 50);
  });
}

describe('the daemon and systemd notify socket', () => {
  it('READY=1 after start, WATCHDOG=1 while healthy, none while the event loop is blocked, STOPPING=1 on stop', async () => {
    const dir = makeDir('nightshift-notify-');
    dirs.push(dir);
    listener = await startNotifyListener(dir);
    process.env['NOTIFY_SOCKET'] = listener.socketPath;
    process.env['WATCHDOG_USEC'] = String(WATCHDOG_USEC);
    const startedAt = Date.now();
    daemon = await startTestDaemon(
      'project: notify\nshutdown_grace: 500ms\njobs:\n  envcheck:\n    command: [sh, -c, "printenv NOTIFY_SOCKET WATCHDOG_USEC > env.txt; exit 0"]\n',
    );

    const ready = await waitFor(() => listener!.with('READY=1')[0], 5_000, 'READY=1');
    expect(ready.msg).toMatch(/^READY=1\nSTATUS=running 1 jobs; API on http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.at).toBeGreaterThanOrEqual(startedAt);
    expect(listener.with('READY=1')).toHaveLength(1);
    // The daemon took the variables out of its environment: runs do not inherit them.
    expect(process.env['NOTIFY_SOCKET']).toBeUndefined();
    expect(process.env['WATCHDOG_USEC']).toBeUndefined();
    await daemon.daemon.trigger('envcheck', 'manual');
    await daemon.waitForRuns('envcheck', 'the envcheck run to end', (runs) => runs[0]?.status === 'succeeded');
    expect(readFileSync(join(daemon.dir, 'env.txt'), 'utf8')).toBe('');

    // Pings at about WATCHDOG_USEC/2.
    const pings = await waitFor(() => (listener!.with('WATCHDOG=1').length >= 3 ? listener!.with('WATCHDOG=1') : null), 5_000, 'three WATCHDOG=1');
    // The watchdog starts with READY=1, not before it; the mean gap (robust to one late-recorded datagram) is ~500 ms.
    expect(pings[0]!.at).toBeGreaterThanOrEqual(ready.at);
    expect((pings.at(-1)!.at - pings[0]!.at) / (pings.length - 1)).toBeGreaterThan(400);

    const block = await blockEventLoopSoon(BLOCK_MS);
    const after = await waitFor(() => listener!.with('WATCHDOG=1').find((p) => p.at >= block.endMs), 5_000, 'a WATCHDOG=1 after the block');
    const during = listener.with('WATCHDOG=1').filter((p) => p.at > block.startMs + 100 && p.at < block.endMs - 100);
    expect(during).toEqual([]);
    // Pings resume within about one interval of the block's end (generous: a loaded CI machine delays the listener).
    expect(after.at - block.endMs).toBeLessThan(3_000);

    await daemon.daemon.stop();
    const stopping = await waitFor(() => listener!.with('STOPPING=1')[0], 5_000, 'STOPPING=1');
    expect(stopping.msg).toBe('STOPPING=1\nSTATUS=stopping');
    const last = listener.with('WATCHDOG=1').at(-1)!;
    expect(last.at).toBeLessThanOrEqual(stopping.at);
  }, 30_000);

  it('sends nothing and changes nothing without NOTIFY_SOCKET', async () => {
    daemon = await startTestDaemon('project: plain\nshutdown_grace: 500ms\njobs: {}\n');
    expect(daemon.daemon.state).toBe('running');
  });
});

describe('the watchdog', () => {
  it('stops pinging while the scheduler loop is stuck, says so once, and pings again when it ticks', async () => {
    let lastTick = Date.now();
    let consulted = 0;
    let pings = 0;
    const troubles: string[] = [];
    const watchdog = new Watchdog({
      intervalMs: 20,
      health: {
        state: () => {
          consulted++;
          return 'running';
        },
        lastSchedulerTickAt: () => lastTick,
      },
      ping: () => pings++,
      onTrouble: (why) => troubles.push(why),
    });
    watchdog.start();
    try {
      await waitFor(() => pings >= 3, 2_000, 'pings while healthy');
      lastTick = Date.now() - 10 * 60_000; // ten minutes without a tick
      await waitFor(() => troubles.length === 1, 2_000, 'the trouble to be noticed');
      const frozen = pings;
      const seen = consulted;
      await waitFor(() => consulted >= seen + 5, 2_000, 'five more looks at the health');
      expect(pings).toBe(frozen);
      expect(troubles).toEqual([expect.stringMatching(/^the scheduler loop has not run for 6\d\d s$/)]);
      lastTick = Date.now();
      await waitFor(() => pings > frozen, 2_000, 'pings once it ticks again');
    } finally {
      watchdog.stop();
    }
  });

  it('does not ping at all while the daemon is not running', async () => {
    let consulted = 0;
    let pings = 0;
    const watchdog = new Watchdog({
      intervalMs: 20,
      health: { state: () => (consulted++, 'stopping'), lastSchedulerTickAt: () => Date.now() },
      ping: () => pings++,
      onTrouble: () => {},
    });
    watchdog.start();
    try {
      await waitFor(() => consulted >= 5, 2_000, 'five looks at the health');
      expect(pings).toBe(0);
    } finally {
      watchdog.stop();
    }
  });

  it('reads WATCHDOG_USEC only when WATCHDOG_PID is unset or this process', () => {
    expect(readSystemdEnv({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '4000000' }, 42)).toEqual({ socketPath: '/run/x', watchdogUsec: 4_000_000 });
    expect(readSystemdEnv({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '4000000', WATCHDOG_PID: '42' }, 42)?.watchdogUsec).toBe(4_000_000);
    expect(readSystemdEnv({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '4000000', WATCHDOG_PID: '7' }, 42)?.watchdogUsec).toBeNull();
    expect(readSystemdEnv({ WATCHDOG_USEC: '4000000' }, 42)).toBeNull();
  });
});

describe('the systemd-notify fallback', () => {
  it('delivers the message through systemd-notify, signed with the daemon pid', async () => {
    const dir = makeDir('nightshift-notify-');
    dirs.push(dir);
    listener = await startNotifyListener(dir);
    const sender = openNotifySender(listener.socketPath, { preferCommand: true });
    expect(sender.kind).toBe('systemd-notify');
    await sender.send('READY=1\nSTATUS=fallback');
    const got = await waitFor(() => listener!.with('READY=1')[0], 5_000, 'READY=1 from systemd-notify');
    expect(got.msg.split('\n')).toEqual(expect.arrayContaining([`MAINPID=${process.pid}`, 'READY=1', 'STATUS=fallback']));
    sender.close();
  });
});
