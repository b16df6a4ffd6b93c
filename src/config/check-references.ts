/**
 * Checks that need more than one key at a time: names that point at other sections (channels, queues, upstream
 * jobs) exist, names are safe as file and URL path segments, and fixed ping UUIDs and slugs are unique.
 */

import type { ConfigError } from './errors.ts';
import type { ConfigInput } from './schema.ts';
import { listNames, suggestion } from './suggest.ts';
import type { ConfigSource } from './yaml-source.ts';

/** Job, check and queue names become file names, URL path segments and CLI arguments. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function checkReferences(config: ConfigInput, source: ConfigSource): ConfigError[] {
  const errors: ConfigError[] = [];
  const jobs = config.jobs ?? {};
  const checks = config.checks ?? {};
  const channelNames = Object.keys(config.channels ?? {});
  const queueNames = Object.keys(config.queues ?? {});

  const namedSections = [['jobs', Object.keys(jobs)], ['checks', Object.keys(checks)], ['queues', queueNames]] as const;
  for (const [section, names] of namedSections) {
    for (const name of names) {
      if (SAFE_NAME.test(name)) continue;
      const safe = name.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9_.-]+/g, '-') || 'my-name';
      const fix = `rename it to something like '${safe}': letters, digits, _ . - (starting with a letter or digit), as it becomes a file name and a URL path segment`;
      errors.push(source.error([section, name], `'${name}' is not a valid name`, fix, 'key'));
    }
  }

  (config.alerts?.channels ?? []).forEach((name, index) => {
    if (channelNames.includes(name)) return;
    const fix = channelNames.length === 0
      ? `no channels are declared: declare it, like channels: { ${name}: { type: webhook, url: https://… } }`
      : suggestion(name, channelNames, `declared channels: ${listNames(channelNames)}`);
    errors.push(source.error(['alerts', 'channels', index], `no channel named '${name}'`, fix));
  });

  for (const [jobName, job] of Object.entries(jobs)) {
    if (job.queue !== undefined && !queueNames.includes(job.queue)) {
      const fix = queueNames.length === 0
        ? `no queues are declared: declare it, like queues: { ${job.queue}: { concurrency: 1 } }`
        : suggestion(job.queue, queueNames, `declared queues: ${listNames(queueNames)}`);
      errors.push(source.error(['jobs', jobName, 'queue'], `queue '${job.queue}' is not declared under queues:`, fix));
    }
    const upstream = job.after?.job;
    if (upstream === undefined) continue;
    const at = ['jobs', jobName, 'after', 'job'];
    if (upstream === jobName) {
      errors.push(source.error(at, 'a job cannot wait for itself', 'name the upstream job whose output this one uses, or remove after:'));
    } else if (!Object.hasOwn(jobs, upstream)) {
      const others = Object.keys(jobs).filter((name) => name !== jobName);
      const otherwise = others.length > 0 ? `configured jobs: ${listNames(others)}` : 'add that job under jobs:, or remove after:';
      errors.push(source.error(at, `no job named '${upstream}'`, suggestion(upstream, others, otherwise)));
    }
  }

  const uuidOwners = new Map<string, string>();
  for (const [checkName, check] of Object.entries(checks)) {
    if (Object.hasOwn(jobs, checkName)) {
      const problem = `a job is also named '${checkName}', and every job owns a check of its name`;
      errors.push(source.error(['checks', checkName], problem, 'rename the check (its name is its ping URL slug)', 'key'));
    }
    if (check.uuid === undefined) continue;
    const owner = uuidOwners.get(check.uuid);
    if (owner === undefined) uuidOwners.set(check.uuid, checkName);
    else {
      const fix = 'give each check its own uuid (pings to one URL can reach only one check), or leave uuid out';
      errors.push(source.error(['checks', checkName, 'uuid'], `the same uuid as check '${owner}'`, fix));
    }
  }
  return errors;
}
