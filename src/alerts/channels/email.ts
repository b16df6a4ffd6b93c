/**
 * Email over SMTP with nodemailer: subject = the headline on one line, text body = the message.
 *
 * One connection per message, closed when the message is through (or refused, or the signal aborts), so an idle
 * daemon holds no socket or timer for email. SMTP permanent replies (5xx, except 503 "bad sequence", which a new
 * connection fixes; RFC 5321 4.2.1) will be refused again and are not retryable; so are a login without
 * credentials and an unusable configuration. Everything else (4xx, connection and timeout errors) is retryable.
 */

import type { ChannelConfig } from '../../config/types.ts';
import { clipLine, fitText, renderHeadline } from '../message.ts';
import { ChannelError, type Channel, type Notification } from '../types.ts';
import { excerpt, isRecord } from './http.ts';

export type EmailConfig = Extract<ChannelConfig, { type: 'email' }>;

/** Mail clients show about 80 characters; the rest is still there to read. One line, always. */
export const EMAIL_SUBJECT_MAX = 200;
/** A body past this is a log, not a message; the stderr tail's end and the fix survive the cut. */
const EMAIL_TEXT_MAX = 100_000;
/** Codes that a retry of the same configuration cannot fix. */
const PERMANENT_CODES = new Set(['EAUTH', 'ENOAUTH', 'ECONFIG', 'EENVELOPE']);

export function emailChannel(name: string, config: EmailConfig): Channel {
  return { name, type: 'email', send: (notification, signal) => send(config, notification, signal) };
}

export function emailMessage(config: EmailConfig, notification: Notification) {
  const { event, project, incident } = notification;
  return {
    from: config.from,
    to: config.to,
    subject: clipLine(renderHeadline(event, project, incident), EMAIL_SUBJECT_MAX),
    text: fitText(notification.text, EMAIL_TEXT_MAX),
    headers: { 'X-Nightshift-Event': event, 'X-Nightshift-Incident': incident.id },
  };
}

async function send(config: EmailConfig, notification: Notification, signal: AbortSignal): Promise<void> {
  const { host, port, secure, user, pass } = config.smtp;
  // Loaded on the first email, not at the daemon's start: nodemailer is several MB of heap an idle daemon without an
  // email channel should not carry.
  const { createTransport } = await import('nodemailer');
  const transport = createTransport({
    host,
    port,
    secure,
    auth: user === null ? undefined : { user, pass: pass ?? '' },
    // A local MTA (the default) usually has a self-signed certificate; on loopback there is nothing to verify.
    tls: isLoopback(host) ? { rejectUnauthorized: false } : undefined,
  });
  try {
    await transport.sendMail({ ...emailMessage(config, notification), signal });
  } catch (error) {
    throw smtpError(config, error, signal);
  } finally {
    transport.close();
  }
}

function smtpError(config: EmailConfig, error: unknown, signal: AbortSignal): ChannelError {
  const where = `email smtp ${config.smtp.host}:${config.smtp.port}`;
  if (signal.aborted) return new ChannelError(`${where}: gave up, the delivery deadline passed`, { retryable: true });
  const fields = isRecord(error) ? error : {};
  const responseCode = typeof fields['responseCode'] === 'number' ? fields['responseCode'] : null;
  const code = typeof fields['code'] === 'string' ? fields['code'] : null;
  const permanentReply = responseCode !== null && responseCode >= 500 && responseCode !== 503;
  const retryable = !permanentReply && !(responseCode === null && code !== null && PERMANENT_CODES.has(code));
  const secrets = [config.smtp.pass ?? ''].filter((secret) => secret !== '');
  const said = excerpt(error instanceof Error ? error.message : String(error), secrets);
  return new ChannelError(`${where}: ${said}${code === null ? '' : ` (${code})`}`, { retryable });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
