/**
 * The stage-event consumer: reads the SQS queue the EventBridge rule fills with AWS state-change
 * events and signals the watch of the job each one is about (common/stage-events.ts).
 *
 * Every worker runs one; SQS hands each message to one of them, and the signal reaches the watch
 * whichever worker's stage waits on it. A message is deleted once handled: signalled, not a stage
 * event, or about a job no stage watches (a job Sluice did not start, a duplicate, a late event).
 * When Temporal cannot be reached the message is kept: SQS delivers it again after its visibility
 * timeout, and after the queue's maxReceiveCount it moves to the dead-letter queue. Malformed
 * bodies are left for the dead-letter queue too, where an operator can see them.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { jobEventSignal } from '../common/messages';
import { parseStageEvent, watchWorkflowId } from '../common/stage-events';

export interface StageEventLogger {
  debug(message: string, attrs?: Record<string, unknown>): void;
  info(message: string, attrs?: Record<string, unknown>): void;
  warn(message: string, attrs?: Record<string, unknown>): void;
}

export interface StageEventConsumerOptions {
  client: Client;
  sqs: SQSClient;
  queueUrl: string;
  logger?: StageEventLogger;
  /** SQS long-poll wait (1–20 s). Default 20. */
  waitSeconds?: number;
}

export interface StageEventCounts {
  received: number;
  signalled: number;
  /** Terminal events with no watch: not Sluice's job, a duplicate or a late event. */
  unwatched: number;
  /** Other events (not a stage's, or not terminal). */
  ignored: number;
  /** Kept for another delivery (Temporal unreachable, malformed body). */
  kept: number;
}

export interface StageEventConsumer {
  readonly counts: StageEventCounts;
  /** Stops receiving; resolves once the current batch is handled. */
  stop(): Promise<void>;
}

type Outcome = 'signalled' | 'unwatched' | 'ignored' | 'kept';

async function handle(msg: Message, opts: StageEventConsumerOptions): Promise<Outcome> {
  let body: unknown;
  try {
    body = JSON.parse(msg.Body ?? '');
  } catch {
    opts.logger?.warn('stage event: not JSON, left for the dead-letter queue', { messageId: msg.MessageId });
    return 'kept';
  }
  const parsed = parseStageEvent(body);
  if (parsed.kind !== 'terminal') return 'ignored';
  const { notice } = parsed;
  try {
    await opts.client.workflow.getHandle(watchWorkflowId(notice.key)).signal(jobEventSignal, notice);
    opts.logger?.debug('stage event delivered', { key: notice.key, state: notice.state, eventId: notice.eventId });
    return 'signalled';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'unwatched';
    opts.logger?.warn('stage event not delivered, kept for another try', { key: notice.key, error: String(err) });
    return 'kept';
  }
}

export function startStageEventConsumer(opts: StageEventConsumerOptions): StageEventConsumer {
  const counts: StageEventCounts = { received: 0, signalled: 0, unwatched: 0, ignored: 0, kept: 0 };
  const abort = new AbortController();
  let stopping = false;
  let backoffMs = 0;

  async function loop(): Promise<void> {
    while (!stopping) {
      let messages: Message[];
      try {
        const out = await opts.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: opts.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: opts.waitSeconds ?? 20,
          }),
          { abortSignal: abort.signal },
        );
        messages = out.Messages ?? [];
        backoffMs = 0;
      } catch (err) {
        if (stopping) return;
        backoffMs = Math.min(30_000, Math.max(1_000, backoffMs * 2));
        opts.logger?.warn('stage events: cannot read the queue, retrying', {
          queueUrl: opts.queueUrl,
          retryInMs: backoffMs,
          error: String(err),
        });
        await new Promise((r) => setTimeout(r, backoffMs));
        continue;
      }
      if (!messages.length) continue;
      counts.received += messages.length;
      const outcomes = await Promise.all(messages.map((m) => handle(m, opts)));
      const done: { Id: string; ReceiptHandle: string }[] = [];
      outcomes.forEach((o, i) => {
        counts[o]++;
        const m = messages[i];
        if (o !== 'kept' && m?.ReceiptHandle) done.push({ Id: String(i), ReceiptHandle: m.ReceiptHandle });
      });
      if (done.length) {
        try {
          await opts.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: opts.queueUrl, Entries: done }));
        } catch (err) {
          // Delivered again later: a second signal to a closed watch is dropped as a duplicate.
          opts.logger?.warn('stage events: delete failed; the events will be seen again', { error: String(err) });
        }
      }
    }
  }

  const running = loop();
  return {
    counts,
    async stop() {
      stopping = true;
      abort.abort();
      await running;
    },
  };
}
