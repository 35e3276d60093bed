/** Reads a pipeline file (YAML or JSON) and validates it; every error names the file. */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { parseParamArgs, resolveParams } from '../common/params';
import { PipelineValidationError, validatePipeline, type PipelineDefinition } from '../common/pipeline';
import { KINDS, type KindDescriptor } from '../kinds';
import { UserInputError } from './errors';

/**
 * The run parameters given on the command line (`--param name=value`, repeatable), typed by the
 * pipeline's declarations and checked against them — unknown names, wrong types, values outside
 * an enum, required parameters missing — all problems at once, before anything starts. Returns
 * only the values given: the run fills in the defaults (and records them).
 */
export function runParams(pipeline: PipelineDefinition, pairs: readonly string[] | undefined): Record<string, unknown> {
  const parsed = parseParamArgs(pairs ?? [], pipeline.params ?? {});
  const resolved = resolveParams(pipeline.params, parsed.values);
  // A value that did not parse is reported once (not again as missing).
  const unparsed = new Set(parsed.issues.map((i) => i.field));
  const issues = [...parsed.issues, ...resolved.issues.filter((i) => !unparsed.has(i.field))];
  if (issues.length) throw new PipelineValidationError(`the run parameters of ${pipeline.name}`, issues);
  return parsed.values;
}

/** The kinds that run a sub-pipeline, with the param naming it (their descriptors' `subPipeline`). */
const SUB_PIPELINE_KINDS = new Map(
  (Object.values(KINDS) as KindDescriptor[]).flatMap((d) => (d.subPipeline ? [[d.kind, d.subPipeline.pipeline]] : [])),
);

export function loadPipelineFile(file: string, including: readonly string[] = []): PipelineDefinition {
  return loadFile(file, including);
}

/** `via`: the kind of the stage that named the file (a sub-pipeline), for the cycle's message. */
function loadFile(file: string, including: readonly string[], via?: string): PipelineDefinition {
  const abs = path.resolve(file);
  if (including.includes(abs))
    throw new PipelineValidationError(including[0] as string, [
      {
        field: via ?? 'the sub-pipelines',
        received: [...including, abs].map((f) => path.basename(f)),
        problem: 'the sub-pipelines include each other in a cycle',
        fix: `remove one ${via ?? 'sub-pipeline stage'} on that cycle`,
      },
    ]);
  let text: string;
  try {
    if (!statSync(abs).isFile())
      throw new UserInputError(`--pipeline ${file} is not a file.\n  Fix: give the path of a pipeline YAML file.`);
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    if (err instanceof UserInputError) throw err;
    throw new UserInputError(
      `cannot read the pipeline file ${file}: ${(err as Error).message}.\n  Fix: check the path given to --pipeline.`,
    );
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new PipelineValidationError(
      file,
      doc.errors.map((e) => ({
        field: e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : 'the document',
        problem: `invalid YAML: ${e.message.split('\n')[0]}`,
        fix: 'correct the YAML syntax (indentation, quotes, colons)',
      })),
    );
  }
  const raw: unknown = doc.toJS();
  embedSubPipelines(raw, path.dirname(abs), [...including, abs]);
  const def = validatePipeline(raw, file);
  return resolveLocalFiles(def, path.dirname(abs));
}

/**
 * Stages that run a sub-pipeline (pipeline.run) name its file (relative to this one): it is loaded and validated
 * with the parent and its definition put in place of the path, so workers never read it.
 */
function embedSubPipelines(raw: unknown, dir: string, including: string[]): void {
  const stages = (raw as { stages?: unknown } | null)?.stages;
  if (!Array.isArray(stages)) return;
  for (const stage of stages as { kind?: unknown; params?: Record<string, unknown> }[]) {
    const param = typeof stage?.kind === 'string' ? SUB_PIPELINE_KINDS.get(stage.kind) : undefined;
    const file = param !== undefined ? stage.params?.[param] : undefined;
    if (param === undefined || typeof file !== 'string' || !stage.params) continue;
    const sub = path.resolve(dir, file);
    try {
      stage.params[param] = loadFile(sub, including, stage.kind as string);
    } catch (err) {
      if (err instanceof UserInputError)
        throw new UserInputError(
          `${path.basename(including[including.length - 1] as string)}: stage ${JSON.stringify((stage as { id?: unknown }).id)} runs a sub-pipeline that cannot be read: ${err.message}`,
        );
      throw err;
    }
  }
}

/** Params naming a file the worker reads (s3.put's BodyFile, kinesis.put / firehose.put's RecordsFile). */
const LOCAL_FILE_PARAMS = ['BodyFile', 'RecordsFile'] as const;

/** Local file paths are relative to the pipeline file; the worker gets absolute paths. */
function resolveLocalFiles(def: PipelineDefinition, dir: string): PipelineDefinition {
  return {
    ...def,
    stages: def.stages.map((s) => {
      const params = { ...s.params };
      for (const field of LOCAL_FILE_PARAMS) {
        const v = params[field];
        if (typeof v === 'string') params[field] = path.resolve(dir, v);
      }
      return { ...s, params };
    }),
  };
}
