/**
 * memory.low (warning): MemAvailable below the floor — 10% of RAM, or `--min-available-memory` when given (seed 003's
 * deploy gate: a blue-green deploy needs room for two copies of the app, and starting it without that room got the
 * web container OOM-killed).
 */
import { DOCTOR } from '../../config/defaults.ts';
import type { Check } from '../types.ts';
import { percent, size } from './util.ts';

export const checkMemory: Check = (snapshot, context) => {
  const memory = snapshot.memory;
  if (memory === null) return [];
  const floor = context.minAvailableMemoryBytes ?? (memory.memTotalBytes * DOCTOR.memory_low_percent) / 100;
  if (memory.memAvailableBytes >= floor) return [];
  const floorText = context.minAvailableMemoryBytes === null ? `${DOCTOR.memory_low_percent}% of RAM (${size(floor)})` : `--min-available-memory ${size(floor)}`;
  return [{
    id: 'memory.low',
    severity: 'warning',
    title: 'little memory available',
    detail: `MemAvailable ${size(memory.memAvailableBytes)} of ${size(memory.memTotalBytes)} RAM (${percent(memory.memAvailableBytes, memory.memTotalBytes)}), below ${floorText}; swap used ${size(memory.swapTotalBytes - memory.swapFreeBytes)} of ${size(memory.swapTotalBytes)}`,
    fix: [
      'see what holds the memory:  ps -eo pid,user,rss,etime,args --sort=-rss | head -15',
      'stop what should not be running (stray exec/one-off containers: docker ps; duplicate workers), then run doctor again',
      'cap the jobs:  jobs.<name>.memory: 512M   and hold runs back while memory is short:  limits: { min_available_memory: 200M }',
    ].join('\n'),
  }];
};
