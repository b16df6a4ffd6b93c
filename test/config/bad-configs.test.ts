/**
 * Every way a config can be wrong that we promise a good message for: each case asserts the exact line a user sees,
 * `<file>:<line>:<column>: <key path>: <problem>; <fix>`.
 */

import { describe, expect, it } from 'vitest';
import { errorLines, yaml } from './helpers.ts';

const F = '/srv/app/nightshift.yaml';

/** A job that is valid on its own, to hang one bad key on. */
const JOB = 'jobs:\n  scan:\n    command: python3 run.py\n';

interface BadCase {
  name: string;
  yaml: string;
  env?: Record<string, string>;
  expected: string | string[];
}

const cases: BadCase[] = [
  // Unknown keys, at several depths, with and without a near match.
  { name: 'unknown top-level key', yaml: 'jbos: {}\n', expected: `${F}:1:1: jbos: unknown key 'jbos'; did you mean 'jobs'?` },
  { name: 'unknown job key', yaml: `${JOB}    timout: 5m\n`, expected: `${F}:4:5: jobs.scan.timout: unknown key 'timout'; did you mean 'timeout'?` },
  { name: 'unknown key in a shorthand long form', yaml: `${JOB}    retries: { max: 3, backof: 1s }\n`, expected: `${F}:4:24: jobs.scan.retries.backof: unknown key 'backof'; did you mean 'backoff'?` },
  {
    name: 'unknown key three levels down',
    yaml: yaml`
      channels:
        mail:
          type: email
          to: ops@example.com
          smtp: { hots: mail.example.com }
    `,
    expected: `${F}:5:13: channels.mail.smtp.hots: unknown key 'hots'; did you mean 'host'?`,
  },
  { name: 'unknown key with nothing near lists the valid ones', yaml: 'http: { colour: blue }\n', expected: `${F}:1:9: http.colour: unknown key 'colour'; valid keys here: listen, token, ping_key, ping_body_limit` },
  // Units.
  { name: 'bad duration', yaml: `${JOB}    timeout: 10 minutes\n`, expected: `${F}:4:14: jobs.scan.timeout: '10 minutes' is not a duration; write it like 500ms, 30s, 10m, 2h or 1d (or combined, like 1h30m)` },
  { name: 'duration without a unit', yaml: `${JOB}    timeout: 30\n`, expected: `${F}:4:14: jobs.scan.timeout: 30 has no unit; write it like 30s or 30m (units: ms, s, m, h, d)` },
  { name: 'duration with an uppercase unit', yaml: `${JOB}    kill_grace: 10S\n`, expected: `${F}:4:17: jobs.scan.kill_grace: '10S' is not a duration; write 10s: duration units are lowercase (M is megabytes)` },
  { name: 'bad size', yaml: `${JOB}    memory: 512 MBs\n`, expected: `${F}:4:13: jobs.scan.memory: '512 MBs' is not a size; write it like 512K, 50M or 1G (multiples of 1024; a bare number is bytes)` },
  { name: 'memory as a bare number is bytes', yaml: `${JOB}    memory: 512\n`, expected: `${F}:4:13: jobs.scan.memory: '512' is below the minimum of 1M; write 1M or more (a bare number is bytes: did you mean 512M?)` },
  { name: 'bad rate', yaml: 'queues:\n  articles: { rate: 10 per hour }\n', expected: `${F}:2:21: queues.articles.rate: '10 per hour' is not a rate; write it like 10/1h (10 per hour) or 100/1d` },
  // A queue's retries take a job's shape, with the same checks.
  { name: 'queue retries: unknown key', yaml: 'queues:\n  articles: { retries: { max: 3, budgt: 3/1h } }\n', expected: `${F}:2:34: queues.articles.retries.budgt: unknown key 'budgt'; did you mean 'budget'?` },
  { name: 'queue retries: bad budget', yaml: 'queues:\n  articles: { retries: { budget: 3 per hour } }\n', expected: `${F}:2:34: queues.articles.retries.budget: '3 per hour' is not a rate; write it like 10/1h (10 per hour) or 100/1d` },
  { name: 'queue retries: backoff below the floor', yaml: 'queues:\n  articles: { retries: { backoff: 50ms } }\n', expected: `${F}:2:35: queues.articles.retries.backoff: '50ms' is below the 100ms floor; write 100ms or more (faster retries only hammer what just failed)` },
  { name: "queue retries: backoff above the queue's default max_backoff", yaml: 'queues:\n  articles: { retries: { backoff: 20m } }\n', expected: `${F}:2:35: queues.articles.retries.backoff: the default max_backoff (10m) is shorter than backoff (20m); make max_backoff at least 20m, or shorten backoff` },
  { name: 'queue retries: negative', yaml: 'queues:\n  articles: { retries: -1 }\n', expected: `${F}:2:24: queues.articles.retries: -1 is less than 0; write 0 or more` },
  { name: 'cpu without a percent sign', yaml: `${JOB}    cpu: 50\n`, expected: `${F}:4:10: jobs.scan.cpu: '50' is not a percent; write 50%` },
  { name: 'free-disk floor above 100%', yaml: 'logs: { min_free_disk: 150% }\n', expected: `${F}:1:24: logs.min_free_disk: '150%' is more than the whole disk; write a percent from 0% to 100%, or a size like 5G` },
  // Schedules and time zones.
  { name: 'cron value out of range', yaml: `${JOB}    schedule: "61 * * * *"\n`, expected: `${F}:4:15: jobs.scan.schedule: '61 * * * *' is not a valid cron schedule (Invalid value for minute: 61); write 5 fields (minute hour day-of-month month day-of-week) like "0 * * * *", or 6 with seconds first` },
  { name: 'cron with 7 fields', yaml: `${JOB}    schedule: "0 0 0 * * * 2030"\n`, expected: `${F}:4:15: jobs.scan.schedule: '0 0 0 * * * 2030' has 7 fields; write 5 fields (minute hour day-of-month month day-of-week) like "0 * * * *", or 6 with seconds first` },
  { name: 'cron nickname', yaml: `${JOB}    schedule: "@daily"\n`, expected: `${F}:4:15: jobs.scan.schedule: '@daily' is a nickname, not 5 or 6 fields; write "0 0 * * *" instead` },
  { name: 'cron that never fires', yaml: 'checks:\n  backup: { schedule: "0 0 31 2 *" }\n', expected: `${F}:2:23: checks.backup.schedule: '0 0 31 2 *' never fires; check the day-of-month and month fields (no month has a 31st of February)` },
  { name: 'unquoted cron starting with *', yaml: `${JOB}    schedule: * * * * *\n`, expected: `${F}:4:15: YAML reads a value starting with * as an alias; put it in quotes, like "* * * * *"` },
  { name: 'misspelt time zone', yaml: `${JOB}    schedule: "0 * * * *"\n    timezone: Europe/Berln\n`, expected: `${F}:5:15: jobs.scan.timezone: 'Europe/Berln' is not a time zone; did you mean 'Europe/Berlin'?` },
  // Interpolation.
  { name: 'unset variable', yaml: 'http: { token: ${NIGHTSHIFT_TOKEN} }\n', expected: `${F}:1:16: http.token: environment variable NIGHTSHIFT_TOKEN is not set; export NIGHTSHIFT_TOKEN=… before starting nightshift, or write \${NIGHTSHIFT_TOKEN:-default}` },
  { name: 'a default that is not valid where it lands', yaml: `${JOB}    timeout: \${SCAN_TIMEOUT:-soon}\n`, expected: `${F}:4:14: jobs.scan.timeout: 'soon' is not a duration (from '\${SCAN_TIMEOUT:-soon}'); write it like 500ms, 30s, 10m, 2h or 1d (or combined, like 1h30m)` },
  { name: 'malformed reference', yaml: 'project: ${1PROJECT}\n', expected: `${F}:1:10: project: '\${1PROJECT}' is not a variable reference; write \${NAME} or \${NAME:-default} with NAME made of letters, digits and _ (not starting with a digit), or $\${…} for literal text` },
  // Commands and job kinds.
  { name: 'command as an empty list', yaml: 'jobs:\n  scan:\n    command: []\n', expected: `${F}:3:14: jobs.scan.command: the command is an empty list; write the program and its arguments, like command: [node, app.js]` },
  { name: 'command as an empty string', yaml: 'jobs:\n  scan:\n    command: ""\n', expected: `${F}:3:14: jobs.scan.command: the command is empty; write the command to run, like command: python3 run.py` },
  { name: 'missing command', yaml: 'jobs:\n  scan:\n    schedule: "0 * * * *"\n', expected: `${F}:2:3: jobs.scan: missing required key 'command'; add command: python3 run.py` },
  { name: 'schedule and restart together', yaml: `${JOB}    schedule: "0 * * * *"\n    restart: always\n`, expected: `${F}:5:14: jobs.scan.restart: a job cannot have both schedule and restart; remove restart: to run it on its schedule, or remove schedule: to keep it running as a service` },
  // Checks.
  { name: 'check with schedule and every', yaml: 'checks:\n  backup: { schedule: "0 3 * * *", every: 1d }\n', expected: `${F}:2:43: checks.backup.every: a check takes schedule or every, not both; keep schedule: for pings at fixed times, or every: for pings at a fixed interval` },
  { name: 'check with neither schedule nor every', yaml: 'checks:\n  backup: { grace: 1h }\n', expected: `${F}:2:3: checks.backup: a check needs schedule or every to know when a ping is due; add every: 1d, or schedule: "0 3 * * *"` },
  { name: 'invalid uuid', yaml: 'checks:\n  backup: { every: 1d, uuid: 5bf66975-d4c7 }\n', expected: `${F}:2:30: checks.backup.uuid: '5bf66975-d4c7' is not a UUID; write one like 5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278 (the one in your ping URL), or leave uuid out and nightshift makes one` },
  {
    name: 'duplicate uuid',
    yaml: yaml`
      checks:
        backup: { every: 1d, uuid: 5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278 }
        restore: { every: 1d, uuid: 5BF66975-D4C7-4BF5-BCC8-B8D8A82EA278 }
    `,
    expected: `${F}:3:31: checks.restore.uuid: the same uuid as check 'backup'; give each check its own uuid (pings to one URL can reach only one check), or leave uuid out`,
  },
  { name: 'check named like a job', yaml: `${JOB}checks:\n  scan: { every: 1h }\n`, expected: `${F}:5:3: checks.scan: a job is also named 'scan', and every job owns a check of its name; rename the check (its name is its ping URL slug)` },
  // References between sections.
  {
    name: 'undeclared queue lists the declared ones',
    yaml: yaml`
      queues: { articles: {}, images: {} }
      jobs:
        writer: { command: [node, writer.js], queue: artcles }
    `,
    expected: `${F}:3:48: jobs.writer.queue: queue 'artcles' is not declared under queues:; did you mean 'articles'?`,
  },
  {
    name: 'undeclared queue, none near',
    yaml: yaml`
      queues: { articles: {}, images: {} }
      jobs:
        writer: { command: [node, writer.js], queue: videos }
    `,
    expected: `${F}:3:48: jobs.writer.queue: queue 'videos' is not declared under queues:; declared queues: articles, images`,
  },
  { name: 'queue with no queues declared', yaml: 'jobs:\n  writer: { command: [node, writer.js], queue: articles }\n', expected: `${F}:2:48: jobs.writer.queue: queue 'articles' is not declared under queues:; no queues are declared: declare it, like queues: { articles: { concurrency: 1 } }` },
  { name: 'undeclared alert channel', yaml: 'channels:\n  ops: { type: slack, url: https://hooks.slack.com/x }\nalerts: { channels: [ops, pager] }\n', expected: `${F}:3:27: alerts.channels[1]: no channel named 'pager'; declared channels: ops` },
  { name: 'after an unknown job', yaml: `${JOB}  writer:\n    command: [node, writer.js]\n    after: { job: scna, max_age: 2h }\n`, expected: `${F}:6:19: jobs.writer.after.job: no job named 'scna'; did you mean 'scan'?` },
  { name: 'after itself', yaml: `${JOB}    after: { job: scan, max_age: 2h }\n`, expected: `${F}:4:19: jobs.scan.after.job: a job cannot wait for itself; name the upstream job whose output this one uses, or remove after:` },
  // HTTP.
  { name: 'port out of range', yaml: 'http: { listen: 127.0.0.1:99999 }\n', expected: `${F}:1:17: http.listen: port 99999 is out of range; write a port from 1 to 65535, like 127.0.0.1:8377` },
  { name: 'listen without a host', yaml: 'http: { listen: 8377 }\n', expected: `${F}:1:17: http.listen: '8377' has no host; write 127.0.0.1:8377 (or 0.0.0.0:8377 for every interface, with http.token set)` },
  { name: 'public listen without a token', yaml: 'http: { listen: 0.0.0.0:8377 }\n', expected: `${F}:1:17: http.listen: refusing to listen on 0.0.0.0:8377 without http.token; set http.token: \${NIGHTSHIFT_TOKEN} and export NIGHTSHIFT_TOKEN=<a long random string>, or listen on 127.0.0.1` },
  // Floors and orderings.
  { name: 'heartbeat below the 1s floor', yaml: `${JOB}    heartbeat: 500ms\n`, expected: `${F}:4:16: jobs.scan.heartbeat: '500ms' is below the 1s floor; write 1s or more (the daemon watches at 1s resolution)` },
  { name: 'heartbeat alert before the derived restart', yaml: `${JOB}    heartbeat: { warn: 10m, alert: 20m }\n`, expected: `${F}:4:36: jobs.scan.heartbeat.alert: alert (20m) is shorter than the derived restart (30m); make alert at least 30m, or shorten restart` },
  { name: 'heartbeat thresholds out of order', yaml: `${JOB}    heartbeat: { warn: 10m, restart: 5m }\n`, expected: `${F}:4:38: jobs.scan.heartbeat.restart: restart (5m) is shorter than warn (10m); make restart at least 10m, or shorten warn` },
  { name: 'backoff below the 100ms floor', yaml: `${JOB}    retries: { max: 3, backoff: 50ms }\n`, expected: `${F}:4:33: jobs.scan.retries.backoff: '50ms' is below the 100ms floor; write 100ms or more (faster retries only hammer what just failed)` },
  { name: 'backoff above the default max_backoff', yaml: `${JOB}    retries: { max: 3, backoff: 20m }\n`, expected: `${F}:4:33: jobs.scan.retries.backoff: the default max_backoff (10m) is shorter than backoff (20m); make max_backoff at least 20m, or shorten backoff` },
  { name: 'cluster dead_after under two heartbeats', yaml: 'cluster: { heartbeat: 5s, dead_after: 8s }\n', expected: `${F}:1:39: cluster.dead_after: dead_after (8s) is less than two heartbeats (5s each); make dead_after at least 3 heartbeats, like heartbeat: 5s, dead_after: 15s` },
  { name: 'cluster dead_after not past heartbeat', yaml: 'cluster: { heartbeat: 20s }\n', expected: `${F}:1:23: cluster.heartbeat: dead_after (15s) is less than two heartbeats (20s each); make dead_after at least 3 heartbeats, like heartbeat: 5s, dead_after: 15s` },
  { name: 'time zone without a schedule', yaml: `${JOB}    timezone: UTC\n`, expected: `${F}:4:15: jobs.scan.timezone: timezone has no effect without schedule; add schedule:, or remove timezone:` },
  // Names.
  { name: 'job name with a space', yaml: 'jobs:\n  "nightly scan": { command: x }\n', expected: `${F}:2:3: jobs["nightly scan"]: 'nightly scan' is not a valid name; rename it to something like 'nightly-scan': letters, digits, _ . - (starting with a letter or digit), as it becomes a file name and a URL path segment` },
  // YAML itself.
  { name: 'tab indentation', yaml: 'jobs:\n  scan:\n\tcommand: x\n', expected: `${F}:3:1: YAML syntax error: Tabs are not allowed as indentation; indent with spaces` },
  { name: 'duplicate key', yaml: 'jobs:\n  scan: { command: x }\n  scan: { command: y }\n', expected: `${F}:3:3: duplicate key 'scan'; a key may appear only once in the same mapping: remove or rename one of them` },
  { name: 'alias without an anchor', yaml: `${JOB}    env: *common\n`, expected: `${F}:4:10: jobs.scan.env: alias *common has no anchor; define &common on a value above this line, or remove the *` },
  { name: 'empty file', yaml: '', expected: `${F}:1:1: the file is empty, so there is nothing to run; add a jobs: section (see docs/configuration.md) or run \`nightshift init\` to write a starter file` },
  { name: 'file with only comments', yaml: '# todo\n', expected: `${F}:1:1: the file is empty, so there is nothing to run; add a jobs: section (see docs/configuration.md) or run \`nightshift init\` to write a starter file` },
  { name: 'a list at the top', yaml: '- scan\n', expected: `${F}:1:1: the file must be a mapping of keys like project: and jobs:, not a list; start each top-level line with a key, like jobs:` },
  // Wrong kinds of value.
  { name: 'text where a number belongs', yaml: 'limits: { max_concurrent_runs: two }\n', expected: `${F}:1:32: limits.max_concurrent_runs: 'two' is not a whole number; write a whole number like 2` },
  { name: 'negative retries', yaml: `${JOB}    retries: -1\n`, expected: `${F}:4:14: jobs.scan.retries: -1 is less than 0; write 0 or more` },
  { name: 'a list where a shorthand belongs', yaml: `${JOB}    retries: [3]\n`, expected: `${F}:4:14: jobs.scan.retries: expected a whole number or mapping, got a list; write it like retries: 3` },
  { name: 'jobs as a list', yaml: 'jobs:\n  - scan\n', expected: `${F}:2:3: jobs: expected a mapping of job names, got a list; write it like jobs: { scan: { command: python3 run.py } }` },
  { name: 'key with no value', yaml: `${JOB}    timeout:\n`, expected: `${F}:4:13: jobs.scan.timeout: has no value; write it like 500ms, 30s, 10m, 2h or 1d (or combined, like 1h30m), or delete the line to use the default` },
  { name: 'yes is not a boolean', yaml: `${JOB}    logs: { compress: yes }\n`, expected: `${F}:4:23: jobs.scan.logs.compress: 'yes' is not true or false; write true or false` },
  { name: 'enum typo', yaml: `${JOB}    overlap: skp\n`, expected: `${F}:4:14: jobs.scan.overlap: 'skp' is not one of skip | queue | replace; did you mean 'skip'?` },
  { name: 'bad environment variable name', yaml: `${JOB}    env: { 1PASS: x }\n`, expected: `${F}:4:12: jobs.scan.env.1PASS: '1PASS' is not a valid environment variable name; use letters, digits and _ (not starting with a digit), like API_KEY` },
  // Channels.
  { name: 'unknown channel type', yaml: 'channels:\n  ops: { type: slak, url: https://hooks.slack.com/x }\n', expected: `${F}:2:16: channels.ops.type: unknown channel type 'slak'; did you mean 'slack'?` },
  { name: 'channel without a type', yaml: 'channels:\n  ops: { url: https://hooks.slack.com/x }\n', expected: `${F}:2:3: channels.ops: missing required key 'type'; add type: with one of webhook | slack | discord | telegram | ntfy | pagerduty | email | exec` },
  { name: 'channel URL that is not a URL', yaml: 'channels:\n  ops: { type: webhook, url: "hooks/x" }\n', expected: `${F}:2:30: channels.ops.url: this is not an http:// or https:// URL; write a full URL like https://example.com/hook` },
  { name: 'store that is neither sqlite nor postgres', yaml: 'store: mysql://db/x\n', expected: `${F}:1:8: store: this is neither sqlite nor a postgres:// URL; write sqlite (one machine) or postgres://user:password@host/db (several nodes)` },
  // Several errors are all reported, in file order.
  {
    name: 'several errors at once',
    yaml: yaml`
      jobs:
        scan:
          command: python3 run.py
          timeout: forever
          retries: many
        chat:
          command: [ruby, chat.rb]
          restrat: always
    `,
    expected: [
      `${F}:4:14: jobs.scan.timeout: 'forever' is not a duration; write it like 500ms, 30s, 10m, 2h or 1d (or combined, like 1h30m)`,
      `${F}:5:14: jobs.scan.retries: 'many' is not a whole number; write a whole number like 3`,
      `${F}:8:5: jobs.chat.restrat: unknown key 'restrat'; did you mean 'restart'?`,
    ],
  },
];

describe('bad configs give one exact, actionable line per problem', () => {
  it('has at least 35 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(35);
  });

  it.each(cases)('$name', ({ yaml: text, env, expected }) => {
    expect(errorLines(text, env)).toEqual(Array.isArray(expected) ? expected : [expected]);
  });
});
