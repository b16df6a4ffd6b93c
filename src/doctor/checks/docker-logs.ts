/**
 * docker.logs_unbounded (warning): Docker runs with the json-file log driver (its default) and no `max-size`, so every
 * container's stdout grows in /var/lib/docker/containers/ until the disk is full — the same end as seed 000's
 * unrotated logs, from a place `du /var/log` never shows.
 */
import type { Check } from '../types.ts';

export const checkDockerLogs: Check = (snapshot) => {
  const docker = snapshot.docker;
  if (docker === null || !docker.running || docker.logging === null) return [];
  if (docker.logging.driver !== 'json-file' || docker.logging.maxSize !== null) return [];
  return [{
    id: 'docker.logs_unbounded',
    severity: 'warning',
    title: "containers' logs grow without limit (json-file driver, no max-size)",
    detail: `/etc/docker/daemon.json: log-driver ${docker.logging.driver}, no log-opts max-size${docker.containers.length ? `; ${docker.containers.length} container${docker.containers.length === 1 ? '' : 's'} running` : ''}`,
    fix: [
      'add to /etc/docker/daemon.json (merge with what is there):',
      '  { "log-driver": "json-file", "log-opts": { "max-size": "50m", "max-file": "3" } }',
      'systemctl restart docker',
      'the limit applies to containers created afterwards: recreate the running ones (docker compose up -d --force-recreate)',
      "see the biggest now:  du -sh /var/lib/docker/containers/*/*-json.log | sort -rh | head",
    ].join('\n'),
  }];
};
