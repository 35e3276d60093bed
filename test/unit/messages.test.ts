/**
 * Signals, queries and updates (common/messages.ts): what the client, the activities and the
 * stage-event consumer send is what the workflows handle. Each workflow's own definition has the
 * same kind and the same name on the wire as the shared one, and the same argument and result
 * types (checked by tsc on this file); the workflows re-export the shared definitions, so the
 * two sides are one object.
 */
import * as messages from '../../common/messages';
import * as workflows from '../../workflows';
import { reportQuery } from '../../workflows/backfill';
import * as pool from '../../workflows/pool';
import { jobEventSignal, releaseWatchSignal } from '../../workflows/watch-job';

type Messages = typeof messages;
/** Mutually assignable: the same arguments and result (the SDK brands a definition with them). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type AllSame<T extends { [K in keyof Messages]: unknown }> = { [K in keyof Messages]: Same<T[K], Messages[K]> };

const handled = {
  statusQuery: workflows.statusQuery,
  progressQuery: workflows.progressQuery,
  reportQuery,
  pauseSignal: workflows.pauseSignal,
  resumeSignal: workflows.resumeSignal,
  setConcurrencySignal: workflows.setConcurrencySignal,
  cancelSignal: workflows.cancelSignal,
  jobEventSignal,
  releaseWatchSignal,
  acquireSignal: pool.acquireSignal,
  releaseSignal: pool.releaseSignal,
  setSlotsSignal: pool.setSlotsSignal,
  grantedSignal: pool.grantedSignal,
  queuedSignal: pool.queuedSignal,
  poolQuery: pool.poolQuery,
  askUpdate: pool.askUpdate,
  giveBackUpdate: pool.giveBackUpdate,
};
// Fails to compile when a definition's arguments or result differ between the two sides.
const typesAgree: { [K in keyof Messages]: true } = {} as AllSame<typeof handled>;

test('every message the workflows handle is defined in common/messages.ts, under the same name and kind', () => {
  expect(typesAgree).toBeDefined();
  expect(Object.keys(handled).sort()).toEqual(Object.keys(messages).sort());
  for (const [key, definition] of Object.entries(messages)) {
    const theirs = handled[key as keyof typeof handled];
    expect({ key, type: theirs.type, name: theirs.name }).toEqual({
      key,
      type: definition.type,
      name: definition.name,
    });
    // The workflows set their handlers with the shared definitions themselves: one object, not a copy.
    expect(theirs).toBe(definition);
  }
});

test('the names on the wire are the ones runs in flight and the committed histories carry', () => {
  expect(Object.fromEntries(Object.entries(messages).map(([key, d]) => [key, `${d.type} ${d.name}`]))).toEqual({
    statusQuery: 'query status',
    progressQuery: 'query progress',
    reportQuery: 'query report',
    pauseSignal: 'signal pause',
    resumeSignal: 'signal resume',
    setConcurrencySignal: 'signal setConcurrency',
    cancelSignal: 'signal cancel',
    jobEventSignal: 'signal sluiceJobEvent',
    releaseWatchSignal: 'signal sluiceReleaseWatch',
    acquireSignal: 'signal sluicePoolAcquire',
    releaseSignal: 'signal sluicePoolRelease',
    setSlotsSignal: 'signal sluicePoolSetSlots',
    grantedSignal: 'signal sluicePoolGranted',
    queuedSignal: 'signal sluicePoolQueued',
    poolQuery: 'query sluicePool',
    askUpdate: 'update sluicePoolAsk',
    giveBackUpdate: 'update sluicePoolGiveBack',
  });
});
