/**
 * Transaction advisory locks (`pg_advisory_xact_lock(namespace, key)`) serialise writers that would otherwise both
 * find a row missing and both insert it. The first number says what is being locked, so keys of different kinds never
 * meet; the two-number form shares no key space with the one-number lock migrations take (MIGRATION_LOCK_KEY).
 * Advisory locks are per database: two nightshift schemas in one database may wait on each other briefly, harmlessly.
 */
export const ADVISORY_NAMESPACE = {
  /** syncChecks: the whole set of configured checks (key 0). */
  checks: 0x6e730001,
  /** openIncident / resolveIncident: one (kind, subject), keyed by hashtext(kind || '/' || subject). */
  incidents: 0x6e730002,
  /** setState: one key, keyed by hashtext(key). */
  state: 0x6e730003,
  /**
   * claimTask: one queue, keyed by hashtext(queue): exclusive while one of its limits can bind, so its concurrency, rate
   * and budget are counted by one claimer at a time; shared (with a slot) while it is far below its concurrency.
   * Written out as a number in migration 0008 (nightshift_claim_task), which takes it.
   */
  tasks: 0x6e730004,
  /** claimTask's slots: a wide claim of a queue holds one of 8, keyed by hashtext(queue) # slot (migration 0008). */
  taskSlots: 0x6e730005,
} as const;
