// The publisher (job `publish`, on a schedule, downstream of `scan`): moves finished drafts into the "site"
// (out/site/) and rebuilds its index from the shared memory. It never waits on the scanner: nightshift.yaml's
// `after: { job: scan, max_age: 1m, on_stale: degrade }` starts it degraded (NIGHTSHIFT_DEGRADED=1) when the scanner
// has not succeeded for a minute, and it publishes what it has with a notice — seed 002's heartbeat degradation
// instead of a downstream agent hanging on a dead upstream.
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { lock, output, state, tasks } from 'nightshift/sdk';

const degraded = process.env.NIGHTSHIFT_DEGRADED === '1';
if (degraded) console.log('the scanner is stale: publishing what is already drafted, with a notice on the index');

// The same lock the writer takes around a draft: no half-written file is published.
const held = await lock('site', { ttl: '30s', wait: '10s' });
if (held === null) {
  console.error('the site lock stayed held for 10 s; the next run publishes instead');
  process.exit(75);
}
const moved = [];
let memory = null;
let unnoted = [];
try {
  await mkdir('out/drafts', { recursive: true });
  await mkdir('out/site', { recursive: true });
  for (const file of (await readdir('out/drafts')).filter((name) => name.endsWith('.md'))) {
    const text = await readFile(`out/drafts/${file}`, 'utf8');
    await writeFile(`out/site/${file.replace(/\.md$/, '.html')}`, `<article><pre>${text.replace(/</g, '&lt;')}</pre></article>\n`);
    await rename(`out/drafts/${file}`, `out/site/${file}`);
    moved.push(file.replace(/\.md$/, ''));
  }
  memory = (await state.get('memory'))?.value ?? { articles: {} };
  // Everything on the site that the memory does not show as published yet — this run's moves, and those of a run
  // killed before it could say so (the breaker stops runs mid-way): the note below repairs the memory either way.
  unnoted = (await readdir('out/site')).filter((name) => name.endsWith('.md')).map((name) => name.replace(/\.md$/, ''))
    .filter((slug) => memory.articles[slug] !== undefined && memory.articles[slug].published !== true);
  const items = Object.entries(memory.articles).map(([slug, a]) => `<li><a href="${slug}.html">${a.title}</a> (${a.revision})</li>`);
  const notice = degraded ? '<p><strong>The scanner is behind: this index may be out of date.</strong></p>\n' : '';
  await writeFile('out/site/index.html', `<h1>Articles</h1>\n${notice}<ul>\n${items.join('\n')}\n</ul>\n`);
} finally {
  await held.release();
}

if (moved.length > 0) await output(1);                // one post (a batch published): counted by the `publishing` breaker
if (unnoted.length > 0) {
  await tasks.enqueue('memory', { kind: 'published', slugs: unnoted }, { key: `published:${process.env.NIGHTSHIFT_RUN_ID}` });
}
console.log(`published ${moved.length} new (${moved.join(', ') || 'nothing new'}); the index lists ${Object.keys(memory.articles).length}${degraded ? ' (degraded)' : ''}`);
