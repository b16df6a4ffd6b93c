// Fails about half the time, like an upstream API that sometimes answers 500.
const ok = Math.random() < 0.5;
console.log(`enriching results (attempt ${process.env.NIGHTSHIFT_ATTEMPT})`);
if (!ok) {
  console.error('upstream returned 500; giving up on this attempt');
  process.exit(1);
}
console.log('enriched');
