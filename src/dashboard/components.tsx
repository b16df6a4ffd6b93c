/** Pieces every dashboard page uses: the page frame, state badges, times, the run strip, action buttons. */
import type { Child } from 'hono/jsx';
import type { Run } from '../store/types.ts';
import { ASSET_PATHS } from './assets.ts';
import { relative, toneOf, utc, words } from './format.ts';

export interface PageContext {
  project: string;
  nowMs: number;
  /** Signed in (a session cookie): actions show their CSRF token; otherwise they lead to the login form. */
  signedIn: boolean;
  csrf: string;
}

export function Layout(props: { ctx: PageContext; title: string; live?: boolean; children?: Child }) {
  const { ctx } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{`${props.title} · ${ctx.project} · nightshift`}</title>
        <link rel="stylesheet" href={ASSET_PATHS.css} />
        <script src={ASSET_PATHS.js} defer></script>
      </head>
      <body data-live={props.live === false ? undefined : '1'}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/">
            nightshift <span class="proj">{ctx.project}</span>
          </a>
          <nav aria-label="Main">
            <a href="/">Overview</a>
            <a href="/incidents">Incidents</a>
            {ctx.signedIn ? (
              <form method="post" action="/logout" class="inline">
                <input type="hidden" name="csrf" value={ctx.csrf} />
                <button type="submit" class="link">
                  Sign out
                </button>
              </form>
            ) : (
              <a href="/login">Sign in</a>
            )}
          </nav>
          <span id="conn" class="conn" role="status" aria-live="polite">
            {props.live === false ? '' : 'connecting…'}
          </span>
        </header>
        <main id="main">{props.children}</main>
      </body>
    </html>
  );
}

export function Badge(props: { state: string; label?: string }) {
  return <span class={`b t-${toneOf(props.state)}`}>{props.label ?? words(props.state)}</span>;
}

export function Time(props: { at: string | null; nowMs: number }) {
  if (props.at === null) return <span class="muted">—</span>;
  return (
    <time datetime={props.at} title={utc(props.at)} data-rel="1">
      {relative(props.at, props.nowMs)}
    </time>
  );
}

/** Strip cell classes by tone: one letter each, the strip is repeated on every row of the overview. */
const CELL: Record<string, string> = { ok: 'k', run: 'r', warn: 'w', bad: 'x', off: 'o' };

/**
 * The last runs, oldest first, as coloured cells. Consecutive runs of one tone are one element `n` cells wide (the
 * stylesheet draws the cells), which keeps a row small; the counts are said in words for screen readers and tooltips.
 */
export function Strip(props: { runs: readonly Run[] }) {
  const counts = new Map<string, number>();
  for (const run of props.runs) counts.set(run.status, (counts.get(run.status) ?? 0) + 1);
  const said = props.runs.length ? [...counts].map(([s, n]) => `${n} ${words(s)}`).join(', ') : 'no runs yet';
  const groups: Array<{ cell: string; n: number }> = [];
  for (const run of props.runs) {
    const cell = CELL[toneOf(run.status)] ?? 'o';
    const last = groups.at(-1);
    if (last && last.cell === cell) last.n += 1;
    else groups.push({ cell, n: 1 });
  }
  return (
    <span class="strip" role="img" aria-label={`${props.runs.length} runs: ${said}`}>
      {groups.map((g) => (
        <i class={`${g.cell} n${g.n}`}></i>
      ))}
    </span>
  );
}

/** A POST button. Signed in, it carries the CSRF token; otherwise the server answers with the login form. */
export function Action(props: { ctx: PageContext; action: string; label: string; danger?: boolean; confirm?: string }) {
  return (
    <form method="post" action={props.action} class="inline" data-confirm={props.confirm}>
      <input type="hidden" name="csrf" value={props.ctx.signedIn ? props.ctx.csrf : ''} />
      <button type="submit" class={props.danger ? 'btn danger' : 'btn'}>
        {props.label}
      </button>
    </form>
  );
}

/** A one-line message at the top of a page (after an action, or why the login form is shown). */
export function Flash(props: { text: string | undefined; tone?: 'ok' | 'bad' }) {
  if (!props.text) return null;
  return (
    <p class={`flash t-${props.tone ?? 'ok'}`} role="status">
      {props.text}
    </p>
  );
}
