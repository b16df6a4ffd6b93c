/**
 * swap.none / swap.small (warning). Seed 001: no swap on a 3.8 GB box, so the first spike of a crash-looping worker
 * went straight to the OOM killer. Swap is not for running in; it is the room that turns a kill into a slowdown.
 */
import { DOCTOR } from '../../config/defaults.ts';
import { parseSize } from '../../config/units.ts';
import type { Check } from '../types.ts';
import { size } from './util.ts';

const GIB = 1024 ** 3;

export const checkSwap: Check = (snapshot) => {
  const memory = snapshot.memory;
  if (memory === null) return [];
  // RAM-sized swap, rounded up to whole GiB, at most swap_suggest_max: 1 GB box → 1G, 3.8 GB → 4G.
  const suggestGiB = Math.max(1, Math.min(Math.ceil(memory.memTotalBytes / GIB), parseSize(DOCTOR.swap_suggest_max) / GIB));
  const fix = [
    `fallocate -l ${suggestGiB}G /swapfile && chmod 600 /swapfile && mkswap /swapfile && swapon /swapfile`,
    `echo '/swapfile none swap sw 0 0' >> /etc/fstab    # keep it after a reboot`,
    `sysctl -w vm.swappiness=10 && echo 'vm.swappiness=10' > /etc/sysctl.d/99-swappiness.conf    # swap only under pressure`,
  ].join('\n');
  if (memory.swapTotalBytes === 0) {
    return [{
      id: 'swap.none',
      severity: 'warning',
      title: 'no swap: a memory spike kills a process instead of slowing the box down',
      detail: `RAM ${size(memory.memTotalBytes)}, swap 0 (/proc/meminfo SwapTotal)`,
      fix,
    }];
  }
  const wanted = Math.min(memory.memTotalBytes * DOCTOR.swap_small_ratio, parseSize(DOCTOR.swap_enough));
  if (memory.swapTotalBytes >= wanted) return [];
  return [{
    id: 'swap.small',
    severity: 'warning',
    title: 'swap is too small for the RAM',
    detail: `RAM ${size(memory.memTotalBytes)}, swap ${size(memory.swapTotalBytes)}; at least ${size(wanted)} is advised (${DOCTOR.swap_small_ratio * 100}% of RAM, up to ${DOCTOR.swap_enough})`,
    fix: `add a swap file next to the existing swap:\n${fix.replaceAll('/swapfile', '/swapfile2')}`,
  }];
};
