import { isTerminal, objectKeys, type JobStore, type Logger, type ObjectStore } from '@folio/shared';

export interface RetentionDeps {
  jobs: JobStore;
  store: ObjectStore;
  logger: Logger;
  now?: () => number;
}

/**
 * Deletes the uploads, results and records of jobs whose retention ended. Objects go first, then
 * the record: a crash in between leaves the record to be swept again, never orphaned objects.
 */
export async function runRetentionSweep(deps: RetentionDeps, batch = 100): Promise<{ deleted: number }> {
  const now = (deps.now ?? Date.now)();
  let deleted = 0;
  for (;;) {
    const ids = await deps.jobs.dueForExpiry(now, batch);
    if (ids.length === 0) break;
    for (const id of ids) {
      const rec = await deps.jobs.get(id);
      if (rec !== null && !isTerminal(rec.status)) await deps.jobs.cancel(id);
      await deps.store.deletePrefix(objectKeys.jobPrefix(id));
      if (rec === null) await deps.jobs.forgetExpiry(id);
      else await deps.jobs.remove(id, rec.tenant);
      deleted++;
    }
    if (ids.length < batch) break;
  }
  if (deleted > 0) deps.logger.info({ deleted }, 'retention sweep removed expired jobs');
  return { deleted };
}
