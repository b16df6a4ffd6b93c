/**
 * docs/alerts-channels.md is real: every YAML example loads, and its Node.js signature check accepts what the
 * webhook channel signs and refuses anything else.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { signatureHeaders } from '../../src/alerts/channels/webhook.ts';
import { resolveYaml } from '../config/helpers.ts';

const doc = readFileSync(new URL('../../docs/alerts-channels.md', import.meta.url), 'utf8');
const blocks = (language: string) =>
  [...doc.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].filter((match) => match[1] === language).map((match) => match[2] ?? '');

describe('docs/alerts-channels.md', () => {
  it('has a YAML example for every channel type, and each one loads', () => {
    const env = { HOOK_TOKEN: 't', WEBHOOK_SECRET: 's', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/x', DISCORD_WEBHOOK_URL: 'https://discord.com/api/webhooks/1/x', TELEGRAM_BOT_TOKEN: '1:x', PAGERDUTY_KEY: 'k', SMTP_PASS: 'p' };
    const types = new Set<string>();
    for (const yaml of blocks('yaml')) {
      const config = resolveYaml(yaml, env);
      for (const channel of Object.values(config.channels)) types.add(channel.type);
    }
    expect([...types].sort()).toEqual(['discord', 'email', 'exec', 'ntfy', 'pagerduty', 'slack', 'telegram', 'webhook']);
  });

  it("has a Node.js signature check that accepts the channel's signature and refuses a changed body", async () => {
    const [code] = blocks('js');
    const module = (await import(`data:text/javascript,${encodeURIComponent(code ?? '')}`)) as {
      verifyNightshiftSignature: (secret: string, body: Buffer, header: string | undefined) => boolean;
    };
    const body = Buffer.from(JSON.stringify({ event: 'incident.opened', text: 'ü' }));
    const header = signatureHeaders('s3cret', body, Date.now())['X-Nightshift-Signature'];
    expect(module.verifyNightshiftSignature('s3cret', body, header)).toBe(true);
    expect(module.verifyNightshiftSignature('other', body, header)).toBe(false);
    expect(module.verifyNightshiftSignature('s3cret', Buffer.concat([body, Buffer.from(' ')]), header)).toBe(false);
    expect(module.verifyNightshiftSignature('s3cret', body, undefined)).toBe(false);
  });
});
