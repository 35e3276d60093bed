/**
 * The worker task role's permissions, derived from the pipelines it will run: for each stage, the
 * exact actions its handler calls (kinds/<kind>/handler.ts) on the narrowest resources its params
 * name. A `{{ template }}` in a name becomes `*` in the ARN (e.g. raw/{{ ds }}/x.csv → raw/x/…).
 * No statement has a `*` action; a `*` resource appears only where the API has no resource-level
 * permissions (said at each place).
 */
import { EMR_CLUSTER_TAGS } from '../../common/constants';
import { KINDS, type ArnContext, type Grant, type GrantContext } from '../../kinds';
import type { PipelineDefinition, StageDefinition } from '../../common/pipeline';
import { destinationOf, isNotifyProblem } from '../../common/notifications';
import { widenTemplates } from '../../common/templating';

export type { ArnContext, Grant } from '../../kinds';

/** A param value with its templates (the date, run params, stage outputs) widened to `*`. */
function pattern(v: unknown): string {
  return widenTemplates(String(v));
}

/** The id of the stage starting its own cluster (emr.cluster) a param names as exactly `{{ stages.<id>.output.clusterId }}`, if it does. */
function emrClusterStage(v: unknown, stages: readonly StageDefinition[]): string | undefined {
  const m = typeof v === 'string' ? /^\s*\{\{\s*stages\.(.+)\.output\.clusterId\s*\}\}\s*$/.exec(v) : null;
  const id = m?.[1];
  return id !== undefined && stages.some((st) => st.id === id && KINDS[st.kind]?.startsOwnCluster) ? id : undefined;
}

/**
 * The permissions one stage needs: its kind's `grants` (kinds/<kind>/kind.ts). `stages` are the other
 * stages of its pipeline: a cluster id taken from an emr.cluster stage's output is granted as "the
 * clusters tagged with this pipeline".
 */
export function stageGrants(
  pipeline: string,
  stage: StageDefinition,
  c: ArnContext,
  stages: readonly StageDefinition[] = [],
): Grant[] {
  const partition = c.partition ?? 'aws';
  const arn = (service: string, resource: string, region = c.region, account = c.account) =>
    `arn:${partition}:${service}:${region}:${account}:${resource}`;
  const sid = `${pipeline}/${stage.id} (${stage.kind})`;
  const g = (actions: string[], resources: string[], conditions?: Grant['conditions']): Grant => ({
    sid,
    actions,
    resources,
    ...(conditions ? { conditions } : {}),
  });
  const ownClusters = { StringEquals: { [`elasticmapreduce:ResourceTag/${EMR_CLUSTER_TAGS.pipeline}`]: pipeline } };
  const ctx: GrantContext = {
    p: stage.params,
    pipeline,
    partition,
    region: c.region,
    account: c.account,
    g,
    arn,
    s3: (bucket, key) => `arn:${partition}:s3:::${bucket}${key !== undefined ? `/${key}` : ''}`,
    str: (p, key) => {
      const v = p[key];
      return typeof v === 'string' && v !== '' ? pattern(v) : undefined;
    },
    pattern,
    s3Uri: (uri) => {
      const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
      return m ? { bucket: m[1] as string, key: m[2] as string } : undefined;
    },
    roleArn: (v, part, account) =>
      v.startsWith('arn:') ? v.replace(':instance-profile/', ':role/') : `arn:${part}:iam::${account}:role/${v}`,
    ownClusters,
    onCluster: (actions, v) =>
      emrClusterStage(v, stages) !== undefined
        ? g(actions, [arn('elasticmapreduce', 'cluster/*')], ownClusters)
        : g(actions, [arn('elasticmapreduce', `cluster/${pattern(v)}`)]),
    stageGrants: (sub, s, subStages) => stageGrants(sub, s, c, subStages),
  };
  return KINDS[stage.kind].grants(ctx);
}

/**
 * Every stage of every pipeline, and its notify destinations, merged: one grant per distinct
 * (actions, conditions), resources unioned.
 */
export function pipelineGrants(pipelines: readonly PipelineDefinition[], c: ArnContext): Grant[] {
  const merged = new Map<string, Grant>();
  for (const pl of pipelines) {
    const grants = [...pl.stages.flatMap((stage) => stageGrants(pl.name, stage, c, pl.stages)), ...notifyGrants(pl)];
    for (const grant of grants) {
      const key = JSON.stringify([[...grant.actions].sort(), grant.conditions ?? null]);
      const cur = merged.get(key);
      if (!cur)
        merged.set(key, { ...grant, actions: [...grant.actions].sort(), resources: [...new Set(grant.resources)] });
      else {
        cur.resources = [...new Set([...cur.resources, ...grant.resources])];
        if (!cur.sid.includes(grant.sid)) cur.sid = `${cur.sid}; ${grant.sid}`;
      }
    }
  }
  return [...merged.values()];
}

/**
 * What a pipeline's `notify:` destinations need (activities/notify.ts): SNS Publish on each topic,
 * EventBridge PutEvents on each bus, and reading each secret that holds a webhook's URL (by the ARN
 * given, and with the six characters Secrets Manager appends, when the ARN was given without them).
 */
export function notifyGrants(pl: PipelineDefinition): Grant[] {
  const sid = `${pl.name} notify`;
  const out: Grant[] = [];
  for (const { to } of pl.notify ?? []) {
    const d = destinationOf(to);
    if (isNotifyProblem(d)) continue;
    if (d.type === 'sns') out.push({ sid, actions: ['sns:Publish'], resources: [d.topicArn] });
    if (d.type === 'eventbridge') out.push({ sid, actions: ['events:PutEvents'], resources: [d.busArn] });
    if (d.type === 'webhook-secret')
      out.push({
        sid,
        actions: ['secretsmanager:GetSecretValue'],
        resources: /-[A-Za-z0-9]{6}$/.test(d.secretArn) ? [d.secretArn] : [d.secretArn, `${d.secretArn}-??????`],
      });
  }
  return out;
}

/** Kinds used by the pipelines, for the per-kind alarms. */
export function kindsUsed(pipelines: readonly PipelineDefinition[]): string[] {
  return [...new Set(pipelines.flatMap((p) => p.stages.map((s) => s.kind)))].sort();
}
