/** Job output made safe for a page: escaped, SGR colours as classed spans, every other escape sequence dropped. */
import { describe, expect, it } from 'vitest';
import { ansiToHtml, escapeHtml, stripAnsi } from '../../src/dashboard/ansi.ts';

describe('ansiToHtml', () => {
  it('escapes markup, so a printed <script> stays text', () => {
    expect(ansiToHtml('<script>alert("x")</script> & \'q\'')).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;');
  });

  it('turns SGR colours and bold into spans with classes, and reset ends them', () => {
    expect(ansiToHtml('\x1b[31mred\x1b[0m plain \x1b[1;92mbright\x1b[39m bold')).toBe(
      '<span class="a-f1">red</span> plain <span class="a-b a-f10">bright</span><span class="a-b"> bold</span>',
    );
  });

  it('escapes text inside coloured spans too', () => {
    expect(ansiToHtml('\x1b[33m<b>\x1b[m')).toBe('<span class="a-f3">&lt;b&gt;</span>');
  });

  it('drops cursor movement, OSC titles and hyperlinks, lone escapes and control characters, keeping tabs', () => {
    expect(ansiToHtml('a\x1b[2Kb\x1b[10;5Hc\x1b]0;title\x07d\x1b]8;;http://x\x1b\\e\x1bf\x00g\th\x7f')).toBe('abcde' + 'fg\th');
  });

  it('consumes 256-colour and truecolour parameters without taking them for other codes', () => {
    expect(ansiToHtml('\x1b[38;5;196mx\x1b[0m\x1b[38;2;1;2;3;4my')).toBe('x<span class="a-u">y</span>');
  });

  it('stripAnsi gives the plain text for searching', () => {
    expect(stripAnsi('\x1b[31mred\x1b[0m <x>')).toBe('red <x>');
    expect(escapeHtml('"')).toBe('&quot;');
  });
});
