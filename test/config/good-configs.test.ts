import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { JobConfig } from '../../src/config/index.ts';
import { resolveYaml, yaml } from './helpers.ts';

const DESIGN_EXAMPLE = readFileSync(new URL('../fixtures/config/good/design-example.yaml', import.meta.url), 'utf8');
const DESIGN_ENV = { NIGHTSHIFT_TOKEN: 'secret-token', PING_KEY: 'ping-key' };

describe('the DESIGN.md example config', () => {
  const config = resolveYaml(DESIGN_EXAMPLE, DESIGN_ENV);

  it('resolves the top level, with ${VAR} inside { } flow mappings', () => {
    expect(config.configPath).toBe('/srv/app/nightshift.yaml');
    expect(config.configDir).toBe('/srv/app');
    expect(config.project).toBe('seo-scanner');
    expect(config.stateDir).toBe('/srv/app/.nightshift');
    expect(config.store).toEqual({ kind: 'sqlite', path: '/srv/app/.nightshift/state.db' });
    expect(config.node).toBe('vps-1');
    expect(config.cluster).toEqual({ heartbeatMs: 5000, deadAfterMs: 15_000 });
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8377, token: 'secret-token', pingKey: 'ping-key', pingBodyLimitBytes: 10_000 });
    expect(config.selfPing).toBe('https://hc-ping.com/<uuid>');
    expect(config.limits).toEqual({ maxConcurrentRuns: 2, minAvailableMemoryBytes: 200 * 1024 ** 2 });
    expect(config.logs).toEqual({ maxTotalBytes: 1024 ** 3, minFreeDisk: { kind: 'percent', percent: 10 } });
    expect(config.doctor).toEqual({ ignore: ['swap.none'] });
    expect(config.channels).toEqual({ ops: { type: 'webhook', url: 'http://127.0.0.1:9999/hook', headers: {}, secret: null } });
    expect(config.alerts).toEqual({ channels: ['ops'], renotifyMs: 6 * 3_600_000, flapWindowMs: 120_000, lateStartMs: 60_000 });
    expect(config.queues).toEqual({
      articles: {
        name: 'articles',
        concurrency: 1,
        rate: { count: 10, perMs: 3_600_000 },
        retries: { max: 3, backoffMs: 10_000, maxBackoffMs: 600_000, budget: null },
        leaseMs: 300_000,
      },
    });
    expect(config.checks).toEqual({
      backup: { name: 'backup', schedule: '0 3 * * *', timezone: null, everyMs: null, graceMs: 3_600_000, uuid: '5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278' },
    });
    expect(config.shutdownGraceMs).toBe(30_000);
    expect(config.history).toEqual({ keepRunsPerJob: 1000, maxAgeMs: 30 * 86_400_000 });
  });

  it('keeps the jobs in file order, each with its kind', () => {
    expect(Object.keys(config.jobs)).toEqual(['scan', 'writer', 'chat']);
    expect(Object.values(config.jobs).map((job) => job.kind)).toEqual(['scheduled', 'triggered', 'service']);
  });

  it('resolves the scheduled job completely', () => {
    expect(config.jobs['scan']).toEqual<JobConfig>({
      name: 'scan',
      kind: 'scheduled',
      command: { kind: 'shell', script: 'python3 run.py' },
      cwd: '/opt/seo-scanner',
      env: { MODE: 'full' },
      envFile: '/srv/app/.env',
      user: 'seo-scanner',
      schedule: '0 * * * *',
      timezone: 'Europe/Berlin',
      overlap: 'skip',
      catchUp: 'latest',
      timeoutMs: 600_000,
      killGraceMs: 10_000,
      maxRuntimeMs: 300_000,
      retries: { max: 3, backoffMs: 10_000, maxBackoffMs: 600_000, budget: null },
      heartbeat: { warnMs: 120_000, restartMs: 360_000, alertMs: 1_440_000 },
      graceMs: 900_000,
      memoryBytes: 512 * 1024 ** 2,
      cpuPercent: 50,
      logs: { maxSizeBytes: 50 * 1024 ** 2, keep: 14, compress: true },
      breaker: { outputs: 20, perMs: 600_000, group: 'publishing', stopRunning: false },
      budget: { spend: 5, perMs: 86_400_000 },
      queue: null,
      after: null,
      node: null,
      restart: null,
      minUptimeMs: 30_000,
      crashLoop: { failures: 5 },
      restartBackoff: { initialMs: 1_000, maxMs: 300_000 },
    });
  });

  it('resolves the queue worker and the service, defaults filled in', () => {
    const writer = config.jobs['writer'];
    expect(writer?.command).toEqual({ kind: 'argv', argv: ['node', 'writer.js'] });
    expect(writer?.cwd).toBe('/srv/app');
    expect(writer?.queue).toBe('articles');
    expect(writer?.after).toEqual({ job: 'scan', maxAgeMs: 7_200_000, onStale: 'degrade' });
    expect(writer?.node).toBe('vps-1');
    expect(writer?.retries).toEqual({ max: 0, backoffMs: 10_000, maxBackoffMs: 600_000, budget: null });
    expect(writer?.heartbeat).toBeNull();
    expect(writer?.timeoutMs).toBeNull();
    const chat = config.jobs['chat'];
    expect(chat?.restart).toBe('always');
    expect(chat?.minUptimeMs).toBe(30_000);
    expect(chat?.crashLoop).toEqual({ failures: 5 });
    expect(chat?.logs).toEqual({ maxSizeBytes: 10 * 1024 ** 2, keep: 5, compress: true });
  });
});

describe('defaults', () => {
  it('fills every field of a minimal config', () => {
    const config = resolveYaml('jobs:\n  hello:\n    command: echo hello\n');
    expect(config).toEqual({
      configPath: '/srv/app/nightshift.yaml',
      configDir: '/srv/app',
      project: 'app',
      stateDir: '/srv/app/.nightshift',
      store: { kind: 'sqlite', path: '/srv/app/.nightshift/state.db' },
      node: 'vps-42',
      cluster: { heartbeatMs: 5000, deadAfterMs: 15_000 },
      http: { host: '127.0.0.1', port: 8377, token: null, pingKey: null, pingBodyLimitBytes: 10_000 },
      selfPing: null,
      limits: { maxConcurrentRuns: 0, minAvailableMemoryBytes: 0 },
      logs: { maxTotalBytes: 1024 ** 3, minFreeDisk: { kind: 'percent', percent: 10 } },
      history: { keepRunsPerJob: 1000, maxAgeMs: 30 * 86_400_000 },
      shutdownGraceMs: 30_000,
      doctor: { ignore: [] },
      channels: {},
      alerts: { channels: [], renotifyMs: null, flapWindowMs: 120_000, lateStartMs: 60_000 },
      queues: {},
      jobs: {
        hello: {
          name: 'hello',
          kind: 'triggered',
          command: { kind: 'shell', script: 'echo hello' },
          cwd: '/srv/app',
          env: {},
          envFile: null,
          user: null,
          schedule: null,
          timezone: null,
          overlap: 'skip',
          catchUp: 'latest',
          timeoutMs: null,
          killGraceMs: 10_000,
          maxRuntimeMs: null,
          retries: { max: 0, backoffMs: 10_000, maxBackoffMs: 600_000, budget: null },
          heartbeat: null,
          graceMs: 3_600_000,
          memoryBytes: null,
          cpuPercent: null,
          logs: { maxSizeBytes: 10 * 1024 ** 2, keep: 5, compress: true },
          breaker: null,
          budget: null,
          queue: null,
          after: null,
          node: null,
          restart: null,
          minUptimeMs: 30_000,
          crashLoop: { failures: 5 },
          restartBackoff: { initialMs: 1_000, maxMs: 300_000 },
        },
      },
      checks: {},
    });
  });

  it('takes node and store from the environment when the file does not set them', () => {
    const config = resolveYaml('project: x\n', { NIGHTSHIFT_NODE: 'worker-3', NIGHTSHIFT_DATABASE_URL: 'postgres://ns:pw@db/ns' });
    expect(config.node).toBe('worker-3');
    expect(config.store).toEqual({ kind: 'postgres', url: 'postgres://ns:pw@db/ns' });
  });

  it('lets the file win over the environment', () => {
    const config = resolveYaml('node: vps-1\nstore: sqlite\nstate_dir: /var/lib/ns\n', { NIGHTSHIFT_NODE: 'w', NIGHTSHIFT_DATABASE_URL: 'postgres://db/ns' });
    expect(config.node).toBe('vps-1');
    expect(config.store).toEqual({ kind: 'sqlite', path: '/var/lib/ns/state.db' });
  });

  it('alerts every declared channel unless alerts.channels says otherwise', () => {
    const config = resolveYaml(yaml`
      channels:
        ops: { type: slack, url: https://hooks.slack.com/services/x }
        phone: { type: ntfy, url: https://ntfy.sh/ops, token: "\${NTFY_TOKEN:-}" }
    `);
    expect(config.alerts.channels).toEqual(['ops', 'phone']);
    expect(config.channels['phone']).toEqual({ type: 'ntfy', url: 'https://ntfy.sh/ops', token: null });
  });
});

describe('shorthands and paths', () => {
  it('expands retries and heartbeat, in both forms', () => {
    const config = resolveYaml(yaml`
      jobs:
        a: { command: x, retries: 2, heartbeat: 5m }
        b: { command: x, retries: { max: 5, backoff: 30s, budget: 10/1h }, heartbeat: { restart: 6m } }
        c: { command: x, heartbeat: { warn: 1m, alert: 1h } }
    `);
    expect(config.jobs['a']?.retries).toEqual({ max: 2, backoffMs: 10_000, maxBackoffMs: 600_000, budget: null });
    expect(config.jobs['a']?.heartbeat).toEqual({ warnMs: 300_000, restartMs: 900_000, alertMs: 3_600_000 });
    expect(config.jobs['b']?.retries).toEqual({ max: 5, backoffMs: 30_000, maxBackoffMs: 600_000, budget: { count: 10, perMs: 3_600_000 } });
    expect(config.jobs['b']?.heartbeat).toEqual({ warnMs: 120_000, restartMs: 360_000, alertMs: 1_440_000 });
    expect(config.jobs['c']?.heartbeat).toEqual({ warnMs: 60_000, restartMs: 180_000, alertMs: 3_600_000 });
  });

  it("gives a queue's retries a job's shape, with the queue's defaults", () => {
    const config = resolveYaml(yaml`
      queues:
        a: { retries: 5 }
        b: { retries: { max: 100, backoff: 100ms, budget: 3/1h } }
        c: {}
    `);
    expect(config.queues['a']?.retries).toEqual({ max: 5, backoffMs: 10_000, maxBackoffMs: 600_000, budget: null });
    expect(config.queues['b']?.retries).toEqual({ max: 100, backoffMs: 100, maxBackoffMs: 600_000, budget: { count: 3, perMs: 3_600_000 } });
    expect(config.queues['c']?.retries).toEqual({ max: 3, backoffMs: 10_000, maxBackoffMs: 600_000, budget: null });
  });

  it('makes relative paths absolute against the config directory', () => {
    const config = resolveYaml(yaml`
      state_dir: ../state
      jobs:
        a: { command: x, cwd: worker, env_file: secrets/.env }
        b: { command: x, cwd: /opt/b, env_file: /etc/b.env }
    `);
    expect(config.stateDir).toBe('/srv/state');
    expect(config.jobs['a']).toMatchObject({ cwd: '/srv/app/worker', envFile: '/srv/app/secrets/.env' });
    expect(config.jobs['b']).toMatchObject({ cwd: '/opt/b', envFile: '/etc/b.env' });
  });

  it('reads every channel type', () => {
    const config = resolveYaml(yaml`
      channels:
        hook: { type: webhook, url: https://example.com/h, headers: { X-Key: abc } }
        slack: { type: slack, url: https://hooks.slack.com/services/x }
        discord: { type: discord, url: https://discord.com/api/webhooks/x }
        tg: { type: telegram, bot_token: "123:abc", chat_id: -1001234 }
        ntfy: { type: ntfy, url: https://ntfy.sh/t }
        pd: { type: pagerduty, routing_key: R0UT1NG }
        mail: { type: email, to: ops@example.com, smtp: { host: smtp.example.com, port: 465, secure: true, user: u, pass: p } }
        run: { type: exec, command: [/usr/local/bin/notify, --json] }
    `);
    expect(config.channels).toEqual({
      hook: { type: 'webhook', url: 'https://example.com/h', headers: { 'X-Key': 'abc' }, secret: null },
      slack: { type: 'slack', url: 'https://hooks.slack.com/services/x' },
      discord: { type: 'discord', url: 'https://discord.com/api/webhooks/x' },
      tg: { type: 'telegram', botToken: '123:abc', chatId: '-1001234', apiUrl: 'https://api.telegram.org' },
      ntfy: { type: 'ntfy', url: 'https://ntfy.sh/t', token: null },
      pd: { type: 'pagerduty', routingKey: 'R0UT1NG', url: 'https://events.pagerduty.com/v2/enqueue' },
      mail: { type: 'email', to: ['ops@example.com'], from: 'nightshift@vps', smtp: { host: 'smtp.example.com', port: 465, secure: true, user: 'u', pass: 'p' } },
      run: { type: 'exec', command: { kind: 'argv', argv: ['/usr/local/bin/notify', '--json'] } },
    });
  });

  it('supports YAML anchors and << merges, with templates under ignored x- keys', () => {
    const config = resolveYaml(yaml`
      x-defaults: &defaults
        timeout: 10m
        retries: 2
      jobs:
        a: { <<: *defaults, command: x }
        b: { <<: *defaults, command: y, timeout: 1m }
    `);
    expect(config.jobs['a']?.timeoutMs).toBe(600_000);
    expect(config.jobs['b']?.timeoutMs).toBe(60_000);
    expect(config.jobs['b']?.retries.max).toBe(2);
  });

  it('accepts a check with every:, six-field cron, and a time zone', () => {
    const config = resolveYaml(yaml`
      checks:
        a: { every: 90s }
        b: { schedule: "30 0 3 * * *", timezone: America/New_York, grace: 5m }
    `);
    expect(config.checks['a']).toMatchObject({ everyMs: 90_000, schedule: null });
    expect(config.checks['b']).toMatchObject({ schedule: '30 0 3 * * *', timezone: 'America/New_York', graceMs: 300_000 });
  });
});
