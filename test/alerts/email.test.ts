/**
 * The email channel against a real SMTP server (smtp-server) on 127.0.0.1: envelope, login, a one-line subject, the
 * message as the text body, SMTP errors classified by reply code, and no connection left open after a send.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { createChannel } from '../../src/alerts/channels/index.ts';
import { EMAIL_SUBJECT_MAX } from '../../src/alerts/channels/email.ts';
import type { ChannelConfig } from '../../src/config/types.ts';
import { freePort } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { channelError, hugeIncident, notify, signal } from './helpers.ts';

interface Mail {
  from: string;
  to: string[];
  user: string | undefined;
  raw: string;
}

interface Smtp {
  port: number;
  mails: Mail[];
  server: SMTPServer;
}

const servers: SMTPServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

/** Rejects recipients by their local part: reject550@… permanently, busy451@… for now. */
async function startSmtp(): Promise<Smtp> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'], // no certificate in a test; TLS is nodemailer's own, tested upstream
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'nightshift' && auth.password === 'pw') return callback(null, { user: auth.username });
      return callback(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      const code = /^reject550@/.test(address.address) ? 550 : /^busy451@/.test(address.address) ? 451 : null;
      if (code === null) return callback();
      return callback(Object.assign(new Error(`mailbox ${code === 550 ? 'unknown' : 'busy, try later'}`), { responseCode: code }));
    },
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const { mailFrom, rcptTo } = session.envelope;
        mails.push({
          from: mailFrom === false ? '' : mailFrom.address,
          to: rcptTo.map((rcpt) => rcpt.address),
          user: typeof session.user === 'string' ? session.user : undefined,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.server.address() as AddressInfo).port, mails, server };
}

const email = (port: number, over: { to?: string[]; user?: string | null; pass?: string | null } = {}): ChannelConfig => ({
  type: 'email',
  to: over.to ?? ['ops@example.com', 'oncall@example.com'],
  from: 'nightshift@vps-1',
  smtp: { host: '127.0.0.1', port, secure: false, user: over.user ?? null, pass: over.pass ?? null },
});

describe('email channel', () => {
  it('sends one message: envelope, one-line subject, the message as the text body; closes the connection', async () => {
    const smtp = await startSmtp();
    const notification = notify();
    await createChannel('mail', email(smtp.port, { user: 'nightshift', pass: 'pw' })).send(notification, signal());

    const mail = smtp.mails[0]!;
    expect(mail).toMatchObject({ from: 'nightshift@vps-1', to: ['ops@example.com', 'oncall@example.com'], user: 'nightshift' });
    const { headers, body } = parseMessage(mail.raw);
    expect(headers.get('subject')).toBe(notification.text.split('\n')[0]);
    expect(headers.get('from')).toBe('nightshift@vps-1');
    expect(headers.get('to')).toBe('ops@example.com, oncall@example.com');
    expect(headers.get('x-nightshift-incident')).toBe(notification.incident.id);
    expect(headers.get('x-nightshift-event')).toBe('incident.opened');
    expect(headers.get('content-type')).toMatch(/^text\/plain; charset=utf-8/);
    expect(body.replace(/\r\n/g, '\n').trimEnd()).toBe(notification.text);
    // No socket left behind: the daemon idles at zero.
    await waitFor(() => smtp.server.connections.size === 0, 5000, 'the SMTP connection to close');
  });

  it('keeps a huge subject on one line within the limit', async () => {
    const smtp = await startSmtp();
    await createChannel('mail', email(smtp.port)).send(notify('incident.opened', hugeIncident()), signal());
    const subject = parseMessage(smtp.mails[0]!.raw).headers.get('subject') ?? '';
    expect(subject.length).toBeLessThanOrEqual(EMAIL_SUBJECT_MAX);
    expect(subject).not.toContain('\n');
    expect(subject).toMatch(/^\[seo-scanner\] OPEN crash_loop: chat — Sü+…$/);
  });

  it('a permanent SMTP rejection (550) is not retryable', async () => {
    const smtp = await startSmtp();
    const error = await channelError(createChannel('mail', email(smtp.port, { to: ['reject550@example.com'] })).send(notify(), signal()));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/^email smtp 127\.0\.0\.1:\d+: .*550.*mailbox unknown/);
  });

  it('a temporary SMTP rejection (451) is retryable', async () => {
    const smtp = await startSmtp();
    const error = await channelError(createChannel('mail', email(smtp.port, { to: ['busy451@example.com'] })).send(notify(), signal()));
    expect(error.retryable).toBe(true);
  });

  it('a refused login (535) is not retryable and does not show the password', async () => {
    const smtp = await startSmtp();
    const config = email(smtp.port, { user: 'nightshift', pass: 'wrong-password-123' });
    const error = await channelError(createChannel('mail', config).send(notify(), signal()));
    expect(error.retryable).toBe(false);
    expect(error.message).not.toContain('wrong-password-123');
  });

  it('a refused connection is retryable', async () => {
    const error = await channelError(createChannel('mail', email(await freePort())).send(notify(), signal()));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/ECONNREFUSED|ESOCKET|ECONNECTION/);
  });

  it('an aborted send is retryable', async () => {
    const smtp = await startSmtp();
    const controller = new AbortController();
    controller.abort();
    const error = await channelError(createChannel('mail', email(smtp.port)).send(notify(), controller.signal));
    expect(error.retryable).toBe(true);
    expect(smtp.mails).toHaveLength(0);
  });
});

/** Just enough MIME for the assertions: unfolded headers with RFC 2047 words decoded, a quoted-printable body. */
function parseMessage(raw: string): { headers: Map<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), decodeWords(line.slice(colon + 1).trim()));
  }
  const body = raw.slice(split + 4);
  const encoding = headers.get('content-transfer-encoding')?.toLowerCase();
  if (encoding === 'base64') return { headers, body: Buffer.from(body, 'base64').toString('utf8') };
  return { headers, body: encoding === 'quoted-printable' ? qpBytes(body.replace(/=\r\n/g, '')).toString('utf8') : body };
}

function decodeWords(value: string): string {
  // Whitespace between two encoded words is not part of the text (RFC 2047 section 6.2).
  return value.replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?)/g, '$1').replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_m, _charset, kind: string, text: string) =>
    kind.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : qpBytes(text.replace(/_/g, ' ')).toString('utf8'),
  );
}

function qpBytes(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(text.charCodeAt(i));
  }
  return Buffer.from(bytes);
}
