/**
 * firewall.ufw_docker (critical): UFW is enabled with a DROP (or REJECT) incoming policy on a host running Docker.
 * Seed 000: after `ufw enable`, `curl 127.0.0.1:8080` from the host to a container's published port timed out;
 * requests hung 65 s each until the pipeline's connection pool was exhausted. Docker and UFW both rewrite iptables,
 * and the order of their chains decides what a packet meets first.
 */
import type { Check } from '../types.ts';

export const checkFirewall: Check = (snapshot) => {
  const { firewall, docker } = snapshot;
  if (firewall === null || docker === null || !firewall.ufwEnabled || !docker.running) return [];
  if (firewall.inputPolicy !== 'DROP' && firewall.inputPolicy !== 'REJECT') return [];
  const published = docker.containers.filter((c) => c.ports !== '');
  const containers = published.length > 0 ? `; published ports: ${published.map((c) => `${c.name} ${c.ports}`).join('; ')}` : '';
  return [{
    id: 'firewall.ufw_docker',
    severity: 'critical',
    title: 'UFW drops incoming traffic on a host running Docker: the host can lose its way to its own containers',
    detail: `UFW enabled, default incoming policy ${firewall.inputPolicy} (/etc/default/ufw DEFAULT_INPUT_POLICY), Docker running${containers}`,
    fix: [
      'check: curl -sS -m 5 http://127.0.0.1:<published port>/   (a timeout here is this problem)',
      'either let loopback and Docker bridges through and keep UFW:',
      '  ufw allow in on lo && ufw allow in on docker0 && ufw reload',
      'or, when only SSH is exposed (everything else on 127.0.0.1 or behind a tunnel), disable UFW and keep a minimal ruleset:',
      '  ufw --force disable',
      '  iptables -A INPUT -i lo -j ACCEPT',
      '  iptables -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT',
      '  iptables -A INPUT -p tcp --dport 22 -j ACCEPT',
      '  iptables -P INPUT DROP',
      'publish container ports on 127.0.0.1 only (ports: ["127.0.0.1:8080:8080"]): Docker bypasses UFW for published ports',
    ].join('\n'),
  }];
};
