// The report (job `report`, triggered only): `npx nightshift run report --wait -c examples/nightshift.yaml`.
// It only reads — the shared memory and the queues — so it needs no lock and submits nothing to the steward.
import { state, tasks } from 'nightshift/sdk';

const memory = await state.get('memory');
const articles = Object.entries(memory?.value.articles ?? {});
const spent = articles.reduce((sum, [, a]) => sum + (a.spend ?? 0), 0);
console.log(`memory version ${memory?.version ?? 0}: ${articles.length} articles, ${articles.filter(([, a]) => a.published).length} published, $${spent.toFixed(2)} spent on the drafts kept`);
for (const [slug, a] of articles) console.log(`  ${a.published ? 'published' : 'draft    '}  ${slug.padEnd(16)} ${a.words} words  ${a.revision}`);
for (const queue of ['articles', 'memory']) {
  const counts = {};
  for (const task of await tasks.list(queue, { limit: 1000 })) counts[task.state] = (counts[task.state] ?? 0) + 1;
  console.log(`queue ${queue}: ${JSON.stringify(counts)}`);
}
