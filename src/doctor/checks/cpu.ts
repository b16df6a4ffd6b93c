/**
 * cpu.overloaded (warning): the 5- or 15-minute load average above `load_per_cpu` per CPU. Seed 001: load 7.61 on one
 * CPU, every service timing out for want of CPU time, caused by a unit restarting every 10 seconds.
 */
import { DOCTOR } from '../../config/defaults.ts';
import type { Check } from '../types.ts';

export const checkCpu: Check = (snapshot) => {
  const { load, cpuCount } = snapshot;
  if (load === null || cpuCount === null) return [];
  const limit = cpuCount * DOCTOR.load_per_cpu;
  const worst = Math.max(load.five, load.fifteen);
  if (worst <= limit) return [];
  return [{
    id: 'cpu.overloaded',
    severity: 'warning',
    title: `load ${worst.toFixed(2)} on ${cpuCount} CPU${cpuCount === 1 ? '' : 's'}: work is waiting for CPU time`,
    detail: `load average ${load.one.toFixed(2)} ${load.five.toFixed(2)} ${load.fifteen.toFixed(2)} (1/5/15 min), ${cpuCount} CPU${cpuCount === 1 ? '' : 's'}; above ${DOCTOR.load_per_cpu} per CPU (${limit})`,
    fix: [
      'find the consumers:  ps -eo pid,user,pcpu,etime,args --sort=-pcpu | head -15',
      'look for a crash loop (systemd.crash_loop below) or duplicate workers (process.duplicate) first: they are the usual cause',
      'limit concurrency:  limits: { max_concurrent_runs: 1 }   and per job:  cpu: 50%',
    ].join('\n'),
  }];
};
