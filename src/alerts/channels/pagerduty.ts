/**
 * PagerDuty Events API v2. An opened incident (and each renotify) is a `trigger` and a resolved one a `resolve`, all
 * with `dedup_key` = the incident id, so PagerDuty keeps one alert per nightshift incident: a renotify updates it
 * rather than opening another, and the resolve closes it. PagerDuty answers 202 `{ status: 'success', dedup_key }`;
 * 400 is an event it will never accept, 429 and 5xx are worth a retry.
 */
import { hostname } from 'node:os';

import type { ChannelConfig } from '../../config/types.ts';
import { clipLine, fitText, renderHeadline } from '../message.ts';
import type { Channel, IncidentKind, Notification } from '../types.ts';
import { expectSuccess, post, type FetchLike } from './http.ts';

export type PagerDutyConfig = Extract<ChannelConfig, { type: 'pagerduty' }>;

export const PAGERDUTY_SUMMARY_MAX = 1024;
/** PagerDuty refuses events over 512 KB; custom_details is the only part that can grow (stderr tails, ping bodies). */
const DETAILS_MAX_BYTES = 256 * 1024;

export type Severity = 'critical' | 'error' | 'warning' | 'info';

/**
 * How urgent each kind is for a pager. Critical: something is down or will not come back by itself. Error: work
 * failed or stopped, the rest runs. Warning: worth a look in working hours. Typed over every kind, so a new kind
 * does not compile until it is placed here.
 */
export const SEVERITY: Record<IncidentKind, Severity> = {
  job_late: 'critical',
  check_down: 'critical',
  crash_loop: 'critical',
  start_failure: 'critical',
  disk_low: 'critical',
  daemon: 'critical',
  run_failed: 'error',
  stalled: 'error',
  breaker_open: 'error',
  budget_exhausted: 'error',
  memory: 'error',
  'process.duplicate': 'error',
  channel_failing: 'error',
  late_start: 'warning',
  long_run: 'warning',
};

export function pagerDutyChannel(name: string, config: PagerDutyConfig, fetch: FetchLike): Channel {
  return { name, type: 'pagerduty', send: (notification, signal) => send(config, fetch, notification, signal) };
}

export function pagerDutyEvent(routingKey: string, notification: Notification, source = hostname()) {
  const { event, project, incident } = notification;
  if (event === 'incident.resolved') return { routing_key: routingKey, event_action: 'resolve' as const, dedup_key: incident.id };
  return {
    routing_key: routingKey,
    event_action: 'trigger' as const,
    dedup_key: incident.id,
    payload: {
      summary: clipLine(renderHeadline(event, project, incident), PAGERDUTY_SUMMARY_MAX),
      source,
      severity: SEVERITY[incident.kind],
      timestamp: incident.opened_at,
      component: incident.subject,
      group: project,
      class: incident.kind,
      custom_details: customDetails(notification),
    },
  };
}

async function send(config: PagerDutyConfig, fetch: FetchLike, notification: Notification, signal: AbortSignal): Promise<void> {
  const headers = new Headers({ 'content-type': 'application/json' });
  const body = JSON.stringify(pagerDutyEvent(config.routingKey, notification));
  const request = { channel: 'pagerduty', url: config.url, headers, body, signal, fetch, secrets: [config.routingKey] };
  expectSuccess(request, await post(request));
}

/** The incident's detail as PagerDuty shows it (one row per key); the message alone when the detail is too big. */
function customDetails(notification: Notification): Record<string, unknown> {
  const { incident, event, text } = notification;
  const details = { event, incident_id: incident.id, subject: incident.subject, summary: incident.summary, ...incident.detail };
  if (Buffer.byteLength(JSON.stringify(details), 'utf8') <= DETAILS_MAX_BYTES) return details;
  return { event, incident_id: incident.id, subject: incident.subject, fix: incident.detail.fix, text: fitText(text, DETAILS_MAX_BYTES / 4, 'utf8') };
}
