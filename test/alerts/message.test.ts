/**
 * The message text: what each event says, the detail that applies, and that every cut stays within the limit,
 * keeps the headline, the end of the stderr tail and the fix, and never splits a character.
 */
import { describe, expect, it } from 'vitest';
import { clipLine, fitText, renderText, renderTitle, sizeOf, TRUNCATED, truncate } from '../../src/alerts/message.ts';
import { hasLoneSurrogate, hugeIncident, PROJECT, sampleIncident } from './helpers.ts';

describe('renderText', () => {
  it('says what happened, since when, the exit codes, the stderr tail and the fix, in that order', () => {
    const lines = renderText('incident.opened', PROJECT, sampleIncident()).split('\n');
    expect(lines).toEqual([
      '[seo-scanner] OPEN crash_loop: chat — chat exited 5 times within 30s of starting; restarts are backing off',
      'Since: 2025-03-01T03:00:00.000Z',
      'Exit codes: 1, 1, 1, 1, 1',
      'Stderr (last 3 lines):',
      '  Traceback (most recent call last):',
      '    File "processor.rb", line 3',
      '  KeyError: OPENAI_API_KEY',
      'Fix: Read the stderr tail below, fix the cause, then run nightshift resume chat.',
    ]);
  });

  it('labels a recovery and a reminder, and says how long a resolved incident was open', () => {
    const resolved = sampleIncident({ state: 'resolved', resolved_at: '2025-03-01T05:30:00.000Z' });
    const text = renderText('incident.resolved', PROJECT, resolved);
    expect(text.split('\n')[0]).toMatch(/^\[seo-scanner\] RESOLVED crash_loop: chat — /);
    expect(text).toContain('Resolved: 2025-03-01T05:30:00.000Z (after 2h30m)');
    expect(renderText('incident.renotify', PROJECT, sampleIncident())).toMatch(/^\[seo-scanner\] STILL OPEN crash_loop: chat/);
  });

  it('shows the last ping with its body, a missing ping, the PATH and a single exit code', () => {
    const late = sampleIncident({
      kind: 'check_down',
      subject: 'backup',
      detail: {
        fix: 'Check the backup script.',
        exit_code: 2,
        last_ping: { kind: 'fail', at: '2025-03-01T03:00:00.000Z', exit_code: 2, body: 'disk full\nrsync: write failed' },
        path: '/usr/bin:/bin',
      },
    });
    const text = renderText('incident.opened', PROJECT, late);
    expect(text).toContain('Since: 2025-03-01T03:00:20.000Z'); // no detail.since: the opening time
    expect(text).toContain('Exit code: 2');
    expect(text).toContain('Last ping: fail at 2025-03-01T03:00:00.000Z, exit code 2\nPing body:\n  disk full\n  rsync: write failed');
    expect(text).toContain('PATH: /usr/bin:/bin');
    const never = renderText('incident.opened', PROJECT, sampleIncident({ detail: { fix: 'x', last_ping: null } }));
    expect(never).toContain('Last ping: never');
  });

  it('strips terminal colours, carriage-return redraws and control bytes from program output', () => {
    const incident = sampleIncident({ detail: { fix: 'x', stderr_tail: ['\u001b[31mERROR\u001b[0m bad\u0007', '10%\r50%\r100% done'] } });
    const text = renderText('incident.opened', PROJECT, incident);
    expect(text).toContain('  ERROR bad\n  100% done');
    expect(text).not.toMatch(/[\u0000-\u0008\u001b\u007f]/);
  });

  it('keeps the headline on one line even when the summary is not', () => {
    const title = renderTitle('incident.opened', PROJECT, sampleIncident({ summary: 'a\nb' }));
    expect(title).toBe('[seo-scanner] OPEN crash_loop: chat');
    expect(renderText('incident.opened', PROJECT, sampleIncident({ summary: 'a\nb' })).split('\n')[0]).toMatch(/— a b$/);
  });
});

describe('truncate', () => {
  it('leaves text within the limit alone', () => {
    expect(truncate('short', 10)).toBe('short');
  });

  it('cuts on a line boundary and marks the cut', () => {
    const text = ['first line', 'second line', 'third line that goes on'].join('\n');
    const cut = truncate(text, 40);
    expect(cut).toBe(`first line\nsecond line\n${TRUNCATED}`);
    expect(cut.length).toBeLessThanOrEqual(40);
  });

  it('cuts inside a line when no line boundary keeps enough', () => {
    const cut = truncate('x'.repeat(100), 30);
    expect(cut).toBe(`${'x'.repeat(30 - TRUNCATED.length)}${TRUNCATED}`);
  });

  it('never splits an emoji, a flag, a family or an accent', () => {
    for (const unit of ['😀', '🇩🇪', '👨‍👩‍👧', 'e\u0301']) {
      const text = unit.repeat(500);
      for (let max = 20; max < 60; max++) {
        const cut = truncate(text, max);
        expect(cut.length).toBeLessThanOrEqual(max);
        expect(hasLoneSurrogate(cut)).toBe(false);
        expect(cut.slice(0, -TRUNCATED.length)).toBe(unit.repeat((cut.length - TRUNCATED.length) / unit.length));
      }
    }
  });

  it('counts bytes when asked (ntfy) and still cuts between characters', () => {
    const cut = truncate('ü😀'.repeat(2000), 4096, 'utf8');
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(4096);
    expect(Buffer.byteLength(cut)).toBeGreaterThan(4000);
    expect(cut).not.toContain('\uFFFD');
    expect(hasLoneSurrogate(cut)).toBe(false);
  });
});

describe('clipLine', () => {
  it('makes one line within the limit ending in an ellipsis', () => {
    const line = clipLine(`a\nb ${'c'.repeat(300)}`, 100);
    expect(line).not.toContain('\n');
    expect(line.length).toBeLessThanOrEqual(100);
    expect(line.endsWith('…')).toBe(true);
  });
});

describe('fitText on a huge incident', () => {
  const text = renderText('incident.opened', PROJECT, hugeIncident());
  const limits: Array<[string, number, 'utf16' | 'utf8']> = [
    ['Discord', 2000, 'utf16'],
    ['Slack section', 3000, 'utf16'],
    ['Telegram', 4096, 'utf16'],
    ['ntfy', 4096, 'utf8'],
    ['PagerDuty', 1024, 'utf16'],
  ];

  it.each(limits)('fits %s (%i)', (_name, max, measure) => {
    const fitted = fitText(text, max, measure);
    expect(sizeOf(fitted, measure)).toBeLessThanOrEqual(max);
    expect(hasLoneSurrogate(fitted)).toBe(false);
    const lines = fitted.split('\n');
    expect(lines[0]).toMatch(/^\[seo-scanner\] OPEN crash_loop: chat — Süü/);
    expect(lines[0]!.length).toBeLessThanOrEqual(Math.floor(max / 4));
    expect(lines).toContain(TRUNCATED);
    // The end survives: the newest stderr line and the fix.
    expect(lines.at(-1)).toBe('Fix: Restart the worker.');
    expect(lines.at(-2)).toMatch(/^ {2}line 4999: /);
  });

  it('returns text that already fits unchanged', () => {
    const small = renderText('incident.opened', PROJECT, sampleIncident());
    expect(fitText(small, 2000)).toBe(small);
  });

  it('still fits a limit smaller than the headline', () => {
    const fitted = fitText(text, 40);
    expect(fitted.length).toBeLessThanOrEqual(40);
    expect(fitted.startsWith('[seo-scanner]')).toBe(true);
  });
});
