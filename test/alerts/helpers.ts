/**
 * What the channel tests share: sample incidents, and a real HTTP receiver on 127.0.0.1 that records every request
 * and answers what the test programs (a service's success reply, a 429, a 500).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderText } from '../../src/alerts/message.ts';
import { ChannelError, type Incident, type Notification, type NotificationEvent } from '../../src/alerts/types.ts';

export const PROJECT = 'seo-scanner';

export function sampleIncident(over: Partial<Incident> = {}): Incident {
  return {
    id: '01JH8Z5Q4T3V2W1X0Y9Z8A7B6C',
    kind: 'crash_loop',
    subject: 'chat',
    state: 'open',
    opened_at: '2025-03-01T03:00:20.000Z',
    resolved_at: null,
    summary: 'chat exited 5 times within 30s of starting; restarts are backing off',
    detail: {
      fix: 'Read the stderr tail below, fix the cause, then run nightshift resume chat.',
      since: '2025-03-01T03:00:00.000Z',
      exit_codes: [1, 1, 1, 1, 1],
      stderr_tail: ['Traceback (most recent call last):', '  File "processor.rb", line 3', 'KeyError: OPENAI_API_KEY'],
    },
    last_notified_at: '2025-03-01T03:00:20.000Z',
    ...over,
  };
}

/** An incident far past every channel's limit: a 100,000-character summary and 5,000 long stderr lines. */
export function hugeIncident(): Incident {
  const stderr = Array.from({ length: 5000 }, (_, i) => `line ${i}: ${'é😀'.repeat(40)} __init__ <!channel> @everyone`);
  return sampleIncident({
    summary: `S${'ü'.repeat(100_000)}`,
    detail: { fix: 'Restart the worker.', stderr_tail: stderr, path: '/usr/bin:'.repeat(5000) },
  });
}

export function notify(event: NotificationEvent = 'incident.opened', incident: Incident = sampleIncident()): Notification {
  return { event, project: PROJECT, incident, text: renderText(event, PROJECT, incident) };
}

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Reply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  requests: Received[];
  /** What the next requests get; default 200 `ok`. */
  reply: Reply;
  close(): Promise<void>;
}

const open = new Set<Server>();

export async function startReceiver(reply: Reply = { status: 200, body: 'ok' }): Promise<Receiver> {
  const requests: Received[] = [];
  const receiver: Receiver = { origin: '', requests, reply, close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(receiver.reply.status, receiver.reply.headers ?? {});
      res.end(receiver.reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.add(server);
  receiver.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () => closeServer(server);
  return receiver;
}

/** For afterEach: no server outlives its test. */
export async function closeReceivers(): Promise<void> {
  await Promise.all([...open].map(closeServer));
}

function closeServer(server: Server): Promise<void> {
  open.delete(server);
  // fetch keeps connections alive; without this, close() would wait for them to time out.
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The ChannelError a send rejected with (fails the test if it resolved or threw something else). */
export async function channelError(promise: Promise<unknown>): Promise<ChannelError> {
  const error = await promise.then(
    () => new Error('expected the send to fail, it succeeded'),
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof ChannelError)) throw error;
  return error;
}

export function json(received: Received | undefined): Record<string, unknown> {
  if (received === undefined) throw new Error('nothing was received');
  return JSON.parse(received.body.toString('utf8')) as Record<string, unknown>;
}

/** True when a string holds half of a surrogate pair (a cut through an emoji). */
export function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

export const signal = () => new AbortController().signal;
