/** UFW and Docker: the combination that silently blocked localhost traffic to containers in seed 000. */
import { parseDockerPs, parseKeyValues, parseUfwStatus } from '../parse/host-tools.ts';
import type { DockerFacts, FirewallFacts, HostProcess } from '../types.ts';
import type { CommandSource } from '../commands.ts';
import type { HostFs } from './host-fs.ts';

/**
 * UFW's state from its config files (readable without root), corrected by `ufw status verbose` when that answers
 * (it needs root). null when UFW is not installed.
 */
export async function collectFirewall(fs: HostFs, commands: CommandSource): Promise<FirewallFacts | null> {
  const conf = await fs.text('/etc/ufw/ufw.conf');
  const defaults = await fs.text('/etc/default/ufw');
  const status = await commands('ufwStatus');
  const parsed = status === null ? null : parseUfwStatus(status);
  if (conf === null && defaults === null && parsed === null) return null;
  const enabled = parsed?.active ?? parseKeyValues(conf ?? '').get('ENABLED')?.toLowerCase() === 'yes';
  const policy = parsed?.inputPolicy ?? parseKeyValues(defaults ?? '').get('DEFAULT_INPUT_POLICY')?.toUpperCase() ?? null;
  return { ufwEnabled: enabled, inputPolicy: policy };
}

/** Docker runs when dockerd is a process or `docker ps` answers; null when neither the binary nor the daemon is seen. */
export async function collectDocker(fs: HostFs, commands: CommandSource, processes: HostProcess[] | null): Promise<DockerFacts | null> {
  const ps = await commands('dockerPs');
  const daemon = (processes ?? []).some((p) => /(^|\/)dockerd$/.test(p.argv[0] ?? ''));
  if (ps === null && !daemon) return null;
  return { running: daemon || ps !== null, containers: ps === null ? [] : parseDockerPs(ps), logging: parseDaemonJson(await fs.text('/etc/docker/daemon.json')) };
}

/** Docker's defaults when there is no daemon.json: the json-file driver, with no size limit. */
function parseDaemonJson(text: string | null): DockerFacts['logging'] {
  if (text === null || text.trim() === '') return { driver: 'json-file', maxSize: null };
  try {
    const config = JSON.parse(text) as { 'log-driver'?: unknown; 'log-opts'?: Record<string, unknown> };
    const driver = typeof config['log-driver'] === 'string' ? config['log-driver'] : 'json-file';
    const maxSize = config['log-opts']?.['max-size'];
    return { driver, maxSize: typeof maxSize === 'string' ? maxSize : null };
  } catch {
    return null;
  }
}
