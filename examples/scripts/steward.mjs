// The memory steward (job `steward`, a service): seed 002's pattern 1, "one agent writes, everyone else reads". The
// writer and the publisher submit notes to the `memory` queue; this worker is the only one that applies them to the
// shared `memory` state key. nightshift's state would stay consistent without it (every write is versioned, and
// state.update retries on a conflict), but one writer keeps the rules for what the memory holds in one place.
//
// It also shows a service proving it is alive: it sends a heartbeat every 5 s. Silent for 20 s it is warned about,
// for 60 s killed and restarted (`heartbeat: 20s` in nightshift.yaml), so a steward stuck mid-update cannot leave the
// writers' notes piling up unnoticed.
import { heartbeat, state, tasks } from 'nightshift/sdk';

/** Applies one note. update() may call this more than once (once per conflict), so it only computes. */
function apply(memory, note) {
  const next = { articles: { ...(memory?.articles ?? {}) }, updated_at: new Date().toISOString() };
  if (note.kind === 'drafted') {
    // Setting, never adding: a note delivered twice (delivery is at least once) changes nothing the second time.
    const before = next.articles[note.slug];
    next.articles[note.slug] = {
      title: note.title, revision: note.revision, words: note.words, spend: note.spend, drafted_by: note.run,
      published: before?.revision === note.revision ? before.published : false,
    };
  } else if (note.kind === 'published') {
    for (const slug of note.slugs) if (next.articles[slug]) next.articles[slug] = { ...next.articles[slug], published: true };
  } else {
    throw new Error(`unknown note kind ${JSON.stringify(note.kind)}`);   // a failed task: retried, then the dead letter
  }
  return next;
}

const alive = setInterval(() => void heartbeat().catch((error) => console.error(`heartbeat: ${error.message}`)), 5_000);
await heartbeat('steward started');

const worker = tasks.work('memory', async (task) => {
  const { value, version } = await state.update('memory', (memory) => apply(memory, task.payload));
  const slugs = task.payload.kind === 'drafted' ? task.payload.slug : task.payload.slugs.join(', ');
  console.log(`applied ${task.payload.kind} ${slugs} → memory version ${version} (${Object.keys(value.articles).length} articles)`);
  return { version };
}, { concurrency: 1, lease: '30s' });
console.log('steward: applying notes from the memory queue');

// nightshift stops a service with SIGTERM: finish the note in hand, claim no more, exit 0.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    clearInterval(alive);
    void worker.stop().then(() => process.exit(0));
  });
}
