// The scanner (job `scan`, on a schedule): "finds" the pages listed in data/pages.txt and enqueues one `articles` task
// per page for the writer. Nothing is fetched: the list stands in for a crawl, and a failure now and then stands in
// for a flaky upstream, so the job's retries with backoff have something to do.
import { readFile } from 'node:fs/promises';
import { tasks } from 'nightshift/sdk';

const attempt = process.env.NIGHTSHIFT_ATTEMPT;
if (Math.random() < 0.25) {
  // Like the sitemap endpoint answering 503: the run fails, and nightshift retries it after 2 s, 4 s (job `retries`).
  console.error(`sitemap answered 503 (attempt ${attempt}); giving up on this attempt`);
  process.exit(1);
}

const pages = (await readFile(new URL('../data/pages.txt', import.meta.url), 'utf8'))
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'))
  .map((line) => {
    const [slug = '', title = slug] = line.split('|').map((part) => part.trim());
    return { slug, title };
  });

// Each page "changes" every 10 minutes. The idempotency key names the page and its revision, so the scans in between
// find the same revision again and are answered `duplicate: true` instead of queueing a second copy: a scanner that
// loops (seed 002's "bad retry logic") cannot make the writer draft the same article twice.
const revision = new Date(Math.floor(Date.now() / 600_000) * 600_000).toISOString().slice(0, 16) + 'Z';
let queued = 0;
for (const page of pages) {
  const { duplicate } = await tasks.enqueue('articles', { ...page, revision }, { key: `${page.slug}@${revision}` });
  if (!duplicate) queued += 1;
}
console.log(`scanned ${pages.length} pages (revision ${revision}, attempt ${attempt}): ${queued} new, ${pages.length - queued} already queued or written`);
