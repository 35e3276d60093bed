/**
 * The notify activities (issue #21): one event to one destination, and what a run's notifier needs
 * to know of the date's earlier runs. Sends are idempotent in the only way a send can be: the event
 * carries its stable id (common/notifications.ts eventId) everywhere it goes, as SNS's
 * MessageDeduplicationId on a FIFO topic, an `id` field of the EventBridge detail, and the webhook's
 * `X-Sluice-Event-Id` header, so a send retried after a worker died mid-send is recognisably the
 * same event, and the notifier workflow (workflows/notify.ts) sends each event once per transition.
 *
 * A webhook's URL (given, or read from its Secrets Manager secret) is never logged nor put in an
 * error: errors name the destination by its kind and host only.
 */
import { createHash } from 'node:crypto';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { PublishCommand } from '@aws-sdk/client-sns';
import { ApplicationFailure, Context, getClient } from '@temporalio/activity';
import { WORKFLOW_TYPES } from '../common/constants';
import { runUiUrl, temporalSettings } from '../common/env';
import {
  destinationOf,
  eventText,
  isNotifyProblem,
  webhookBody,
  type Destination,
  type NotifyEvent,
} from '../common/notifications';
import type { AwsClients } from './aws-clients';

export interface SendNotificationInput {
  /** The destination as the pipeline names it (`to:`). */
  to: string;
  event: NotifyEvent;
  /** The run (or backfill) the event is about, for its link in the Temporal UI. */
  link?: { workflowId: string; runId?: string };
}

export interface SendNotificationResult {
  /** The destination's kind and, for a webhook, its host (never its path: Slack's is the secret). */
  destination: string;
  /** SNS MessageId / EventBridge EventId / webhook HTTP status. */
  receipt: string;
}

/** Notification failures are retried by the notifier workflow's policy; this type names them in its history. */
export const NOTIFY_ERROR = 'NotifyError';

const WEBHOOK_TIMEOUT_MS = 10_000;

function regionOf(arn: string): string | undefined {
  return arn.split(':')[3] || undefined;
}

function describe(d: Destination, url?: string): string {
  switch (d.type) {
    case 'sns':
      return `SNS topic ${d.topicArn}`;
    case 'eventbridge':
      return `EventBridge bus ${d.busArn}`;
    case 'webhook-secret':
      return `webhook (secret ${d.secretArn}${url ? `, host ${hostOf(url)}` : ''})`;
    case 'webhook':
      return `webhook (host ${hostOf(d.url)})`;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '?';
  }
}

/** The error a failed send fails with: retryable, and free of the webhook's URL. */
function notifyFailure(what: string, message: string, nonRetryable = false): ApplicationFailure {
  return ApplicationFailure.create({ message: `${what}: ${message}`, type: NOTIFY_ERROR, nonRetryable });
}

/** An SDK error's name and message (AWS's words); AWS's messages name ARNs, never a webhook's URL. */
function awsWords(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return `${e.name ?? 'Error'}: ${e.message ?? String(err)}`;
}

async function postWebhook(url: string, event: NotifyEvent, what: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sluice-event-id': event.id },
      body: JSON.stringify(webhookBody(event)),
      signal: AbortSignal.any([AbortSignal.timeout(WEBHOOK_TIMEOUT_MS), Context.current().cancellationSignal]),
    });
  } catch (err) {
    // fetch's own message is "fetch failed"; its cause says why (its code), never the path.
    const cause = (err as { cause?: { code?: string; name?: string } }).cause;
    const why = cause?.code ?? (err as { name?: string }).name ?? 'unreachable';
    throw notifyFailure(what, `no answer (${why})`);
  }
  // Drain the body so the connection is reused; a receiver's words are not logged (they may echo the URL).
  await res.arrayBuffer().catch(() => undefined);
  if (res.ok) return `HTTP ${res.status}`;
  throw notifyFailure(what, `answered HTTP ${res.status}`);
}

export function createNotifyActivities(clients: AwsClients) {
  return {
    /** Sends one event to one destination. Retried by the notifier's policy; the event id stays the same. */
    async sendNotification(input: SendNotificationInput): Promise<SendNotificationResult> {
      const dest = destinationOf(input.to);
      if (isNotifyProblem(dest)) throw notifyFailure('notify', `${dest.problem} (${dest.fix})`, true);
      const info = Context.current().info;
      // The run's link: the worker's Temporal UI (SLUICE_UI_URL), unless the event carries one.
      const url =
        input.event.url ??
        (input.link
          ? runUiUrl(
              { uiUrl: temporalSettings().uiUrl, namespace: info.workflowNamespace ?? info.namespace },
              input.link.workflowId,
              input.link.runId,
            )
          : undefined);
      const event: NotifyEvent = { ...input.event, ...(url ? { url } : {}) };
      switch (dest.type) {
        case 'sns': {
          const fifo = dest.topicArn.endsWith('.fifo');
          try {
            const out = await clients.sns(regionOf(dest.topicArn)).send(
              new PublishCommand({
                TopicArn: dest.topicArn,
                Subject:
                  eventText(event)
                    .replace(/[^\x20-\x7e]/g, '')
                    .slice(0, 100)
                    .trim() || 'Sluice',
                Message: JSON.stringify(event),
                MessageAttributes: {
                  'sluice.event': { DataType: 'String', StringValue: event.type },
                  'sluice.pipeline': { DataType: 'String', StringValue: event.pipeline },
                },
                // A FIFO topic drops a retried send itself (128 chars at most: the id's digest).
                ...(fifo
                  ? {
                      MessageGroupId: event.pipeline,
                      MessageDeduplicationId: createHash('sha256').update(event.id).digest('hex'),
                    }
                  : {}),
              }),
            );
            return { destination: describe(dest), receipt: out.MessageId ?? '' };
          } catch (err) {
            throw notifyFailure(describe(dest), awsWords(err));
          }
        }
        case 'eventbridge': {
          let out;
          try {
            out = await clients.eventBridge(regionOf(dest.busArn)).send(
              new PutEventsCommand({
                Entries: [
                  {
                    EventBusName: dest.busArn,
                    Source: 'sluice',
                    DetailType: `Sluice ${event.type}`,
                    Detail: JSON.stringify(event),
                  },
                ],
              }),
            );
          } catch (err) {
            throw notifyFailure(describe(dest), awsWords(err));
          }
          const entry = out.Entries?.[0];
          if (out.FailedEntryCount || !entry?.EventId)
            throw notifyFailure(describe(dest), `${entry?.ErrorCode ?? 'refused'}: ${entry?.ErrorMessage ?? ''}`);
          return { destination: describe(dest), receipt: entry.EventId };
        }
        case 'webhook':
          return { destination: describe(dest), receipt: await postWebhook(dest.url, event, describe(dest)) };
        case 'webhook-secret': {
          let hook: string | undefined;
          try {
            const out = await clients
              .secretsManager(regionOf(dest.secretArn))
              .send(new GetSecretValueCommand({ SecretId: dest.secretArn }));
            hook = out.SecretString?.trim();
          } catch (err) {
            throw notifyFailure(describe(dest), awsWords(err));
          }
          const read = hook ? destinationOf(hook) : undefined;
          if (!read || isNotifyProblem(read) || read.type !== 'webhook')
            throw notifyFailure(describe(dest), 'the secret does not hold an https:// webhook URL');
          return { destination: describe(dest, read.url), receipt: await postWebhook(read.url, event, describe(dest)) };
        }
      }
    },

    /**
     * The status (Temporal's: COMPLETED, FAILED, ...) of the run of `workflowId` started just before
     * `runId`, from visibility; undefined for a date's first run. A success after a failure recovers.
     */
    async previousRunStatus(workflowId: string, runId: string): Promise<string | undefined> {
      const client = getClient();
      const mine = (await client.workflow.getHandle(workflowId, runId).describe()).startTime.getTime();
      let prev: { status: string; start: number } | undefined;
      const query = `WorkflowId = "${workflowId.replace(/"/g, '\\"')}" AND WorkflowType = "${WORKFLOW_TYPES.runPipeline}"`;
      for await (const wf of client.workflow.list({ query })) {
        const start = wf.startTime.getTime();
        if (wf.runId === runId || start > mine || (prev && prev.start >= start)) continue;
        prev = { status: wf.status.name, start };
      }
      return prev?.status;
    },
  };
}
