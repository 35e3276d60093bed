/** Typed keys of Sluice's custom search attributes (names in constants.ts). */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { RUN_STATUS, SEARCH_ATTRIBUTE_NAMES } from './constants';
import { dsToEpochMs } from './dates';

export const SA_PIPELINE = defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.pipeline, SearchAttributeType.KEYWORD);
/** Midnight UTC of the logical date. */
export const SA_DATE = defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.date, SearchAttributeType.DATETIME);
export const SA_STATUS = defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.status, SearchAttributeType.KEYWORD);
/** Set by Temporal on every workflow a schedule starts (including `schedule trigger`). */
export const SA_SCHEDULED_START_TIME = defineSearchAttributeKey(
  'TemporalScheduledStartTime',
  SearchAttributeType.DATETIME,
);

/** The search attributes every run of `<pipeline>/<ds>` starts with, whoever starts it. */
export function runSearchAttributes(pipeline: string, ds: string) {
  return [
    { key: SA_PIPELINE, value: pipeline },
    { key: SA_DATE, value: new Date(dsToEpochMs(ds)) },
    { key: SA_STATUS, value: RUN_STATUS.running },
  ] as const;
}
