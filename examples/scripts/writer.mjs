// The writer agent (job `writer`, `queue: articles`): nightshift starts one run per task and settles the task by how
// the run ends — exit 0 done, exit 75 after retryAfter() "come back later", anything else a failed attempt. "Drafting"
// is a short sleep and a template: no model, no API key. Each draft is reported with output() and spend(), which the
// breaker and the spend budget in nightshift.yaml count, and handed to the memory steward instead of being written
// into the shared memory directly.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { lock, output, retryAfter, spend, tasks } from 'nightshift/sdk';

const task = await tasks.current();                   // the task this run is for (also in NIGHTSHIFT_TASK_PAYLOAD)
if (task === null) throw new Error('writer.mjs runs as the `writer` job, once per task of the articles queue');
const { slug, title, revision } = task.payload;
console.log(`drafting "${title}" (${slug}@${revision}, task ${task.id}, attempt ${task.attempt})`);

// One draft in five meets the drafting API's own rate limit. Instead of failing (seed 003: one task retried 319 times
// into a 429), the run says when to come back and exits 75: the whole queue pauses 10 s and the attempt is given back.
if (Math.random() < 0.2) {
  console.error('drafting API answered 429 Too Many Requests (Retry-After: 10); the queue pauses, nothing is spent');
  await retryAfter('10s');
  process.exit(75);
}

// Seed 002's 3am story, on demand: while out/runaway exists (`touch examples/out/runaway`), the writer has "the bug"
// and drafts 47 variations of the article, one output after another. The `publishing` breaker kills it (and holds the
// publisher) long before the 47th; README.md, "The example pipeline", walks through it.
const variations = existsSync('out/runaway') ? 47 : 1;
for (let n = 1; n <= variations; n += 1) {
  await sleep(variations > 1 ? 200 : 800);            // "thinking"
  const words = 300 + ((slug.length * 37 + n * 11) % 400);
  const name = variations > 1 ? `${slug}-v${n}` : slug;

  // The site directory is shared with the publisher: the named lock keeps it from publishing a half-written draft.
  // A holder that dies is reclaimed at once (its process is gone), not after seed 002's 30-minute watchdog.
  const held = await lock('site', { ttl: '30s', wait: '10s' });
  if (held === null) {
    console.error('the site lock stayed held for 10 s; trying again later');
    await retryAfter('5s');
    process.exit(75);
  }
  try {
    await mkdir('out/drafts', { recursive: true });
    await writeFile(`out/drafts/${name}.md`, `# ${title}\n\n_Revision ${revision}, drafted by run ${process.env.NIGHTSHIFT_RUN_ID}._\n\n${'Lorem ipsum dolor sit amet. '.repeat(Math.floor(words / 5))}\n`);
  } finally {
    await held.release();
  }

  await output(1);                                     // one article: counted by the `publishing` breaker
  await spend(0.02);                                   // what the model call would have cost: the spend budget
  // Seed 002's memory steward: agents do not write the shared memory, they submit a note that only the steward
  // applies. The key makes a retried run's note a duplicate rather than a second note.
  await tasks.enqueue('memory', { kind: 'drafted', slug: name, title, revision, words, spend: 0.02, run: process.env.NIGHTSHIFT_RUN_ID },
    { key: `drafted:${task.id}:${n}` });
  console.log(`drafted out/drafts/${name}.md (${words} words, $0.02)`);
}
