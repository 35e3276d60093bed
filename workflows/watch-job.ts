/**
 * watchJob: the mailbox of one waiting stage's AWS job (push completion, common/stage-events.ts).
 *
 * A stage that waits on a job with state-change events starts this workflow with an ID derived
 * from the job (`sluice-watch/<kind>/<ids>`). The event consumer of any worker signals it when
 * the job's terminal event arrives; the stage, which awaits this workflow's result, then confirms
 * the end with one status call. The stage releases it when it stops waiting for another reason.
 *
 * It holds no timer of its own: its run timeout (set by the stage) bounds an orphan, e.g. one left
 * by a stage whose worker died and whose next attempt starts a new watch.
 */
import { condition, setHandler } from '@temporalio/workflow';
import { jobEventSignal, releaseWatchSignal } from '../common/messages';
import { AUTO_UPGRADE, versioned } from './versioning';
import { type JobEventNotice, type WatchJobInput } from '../common/stage-events';

// Defined once (common/messages.ts); exported here as before.
export { jobEventSignal, releaseWatchSignal };

/** Returns the first terminal event for the job, or null when released first. */
export async function watchJob(input: WatchJobInput): Promise<JobEventNotice | null> {
  let notice: JobEventNotice | undefined;
  let released = false;
  setHandler(jobEventSignal, (n) => {
    // Duplicates and events for another key (a misrouted signal) change nothing.
    if (notice === undefined && n.key === input.key) notice = n;
  });
  setHandler(releaseWatchSignal, () => {
    released = true;
  });
  await condition(() => notice !== undefined || released);
  return notice ?? null;
}
// A watch has nothing to keep from its build: it moves to the current one, so a retired build
// never strands an event it was signalled.
versioned(AUTO_UPGRADE, watchJob);
