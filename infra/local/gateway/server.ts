/**
 * The gateway: one HTTP endpoint (AWS_ENDPOINT_URL) in front of moto.
 *  - /_sluice/*           control API for tests (scenarios, faults, call log, limits, capacity, reset, health)
 *  - /_sluice/webhooks/*  a webhook receiver for notifications (webhooks.ts)
 *  - /moto-api/*          moto's own API, forwarded untouched and not counted
 *  - owned operations     job lifecycles moto gets wrong (see EMULATORS), answered here
 *  - everything else      forwarded to moto verbatim (bodies streamed both ways)
 * Every AWS request is classified (service + operation), recorded in the call log and checked
 * against injected faults first, whoever ends up answering it.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { athena } from './athena.js';
import { AwsError, isObject, type ApiEmulator, type Emulator, type JsonObject, type Moto } from './aws.js';
import { clearCalls, queryCalls, recordCall, type CallFilter } from './calls.js';
import { applyLimits, capacityReport, clearCounters, clearLimits, listLimits } from './capacity.js';
import { classify, jsonResource, type Classified } from './classify.js';
import { addFault, clearFaults, listFaults, parseFault, takeFault, type Fault } from './faults.js';
import { glue } from './glue.js';
import { glueCrawler } from './glue-crawler.js';
import { databrew } from './databrew.js';
import { emr, emrCluster } from './emr.js';
import { emrServerless } from './emr-serverless.js';
import { lambda } from './lambda.js';
import { partialPut } from './streams.js';
import { dataPipeline } from './datapipeline.js';
import { quicksight } from './quicksight.js';
import { redshiftData } from './redshift-data.js';
import { sfn } from './sfn.js';
import { serviceQuotas } from './service-quotas.js';
import * as webhooks from './webhooks.js';
import { clearScenarios, listScenarios, parseScenario, setScenario } from './scenarios.js';
import { initEvents, listEvents, resetEvents } from './events.js';

/** The emulated services. Add EMR, DataBrew, Redshift Data, SFN... here. */
const EMULATORS: readonly Emulator[] = [
  glue,
  athena,
  redshiftData,
  sfn,
  quicksight,
  dataPipeline,
  lambda,
  glueCrawler,
  databrew,
  emr,
  emrCluster,
  emrServerless,
];
const BY_SERVICE: ReadonlyMap<string, Emulator> = new Map(EMULATORS.map((e) => [e.service, e]));
/** APIs without job runs (no scenarios): the account quotas the emulators enforce, read as on AWS. */
const APIS: readonly ApiEmulator[] = [serviceQuotas];

/** The emulator owning a classified operation: awsJson by X-Amz-Target prefix, REST-JSON by service. */
function emulatorFor(cls: Classified): Pick<Emulator, 'operations'> | undefined {
  if (cls.protocol !== 'json' && cls.protocol !== 'rest') return undefined;
  return [...EMULATORS, ...APIS].find(
    (e) =>
      (cls.protocol === 'json'
        ? e.targetPrefix !== undefined && e.targetPrefix === cls.targetPrefix
        : e.targetPrefix === undefined && e.service === cls.service) && Object.hasOwn(e.operations, cls.operation),
  );
}

/** awsJson bodies are small; they are buffered to read the resource name and for owned operations. */
const MAX_JSON_BODY = 16 * 1024 * 1024;

/** Hop-by-hop headers are per connection and must not be copied across the proxy. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

/** Modeled server-error codes per service (Athena models InternalServerException). */
const SERVER_ERROR_CODES: Record<string, string> = {
  lambda: 'ServiceException',
  athena: 'InternalServerException',
  servicequotas: 'ServiceException',
};
/** Each service's own modelled throttling error, so the SDK raises its typed exception. */
const THROTTLE_CODES: Record<string, string> = {
  lambda: 'TooManyRequestsException',
  athena: 'TooManyRequestsException',
};

export interface GatewayOptions {
  /** e.g. http://127.0.0.1:5077 */
  motoUrl: string;
}

export { createMotoClient };

export function createGateway(options: GatewayOptions): http.Server {
  const moto = new URL(options.motoUrl);
  const motoClient = createMotoClient(moto);
  initEvents(motoClient);

  return http.createServer((req, res) => {
    handle(req, res, moto, motoClient).catch((err: unknown) => {
      console.error('gateway: unhandled error', err);
      if (!res.headersSent) sendJson(res, 500, { error: String(err) });
      else res.destroy();
    });
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, moto: URL, motoClient: Moto): Promise<void> {
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://gateway.invalid');

  if (url.pathname.startsWith('/_sluice/')) return control(req, res, url, method, moto);
  if (url.pathname.startsWith('/moto-api')) return forward(req, res, moto);

  const cls = classify(method, url, req.headers);
  let body: Buffer | undefined;
  let input: unknown;
  if (cls.protocol === 'json' || cls.protocol === 'rest') {
    body = await readBody(req, MAX_JSON_BODY);
    input = parseJson(body);
    // REST-JSON: the path labels are members of the request, as in the AWS model.
    if (cls.protocol === 'rest' && isObject(input)) input = { ...input, ...cls.pathParams };
  }
  const resource = cls.resource ?? jsonResource(cls.service, input);
  const call = recordCall(cls.service, cls.operation, resource);

  const fault = takeFault(cls.service, cls.operation, resource);
  if (fault !== undefined) {
    if (fault.kind === 'latency') await sleep(fault.latencyMs);
    else if (fault.kind === 'partial-failure') {
      try {
        return sendAwsJson(
          res,
          200,
          await partialPut(
            cls.service,
            cls.operation,
            input,
            fault.records ?? 1,
            fault.errorCode,
            motoClient,
            req.headers,
          ),
        );
      } catch (err) {
        if (err instanceof AwsError) return sendAwsError(res, err);
        throw err;
      }
    } else return sendFault(res, cls, fault, method, resource);
  }

  // Operations that are not JSON documents (Lambda Invoke); undefined means moto answers.
  const raw = BY_SERVICE.get(cls.service)?.raw?.[cls.operation];
  if (raw !== undefined) {
    try {
      const ctx = { now: Date.now(), moto: motoClient, headers: req.headers, call, query: url.searchParams };
      const reply = await raw(
        { body: body ?? Buffer.alloc(0), query: url.searchParams, pathParams: cls.pathParams ?? {} },
        ctx,
      );
      if (reply !== undefined) {
        res.writeHead(reply.status, reply.headers);
        res.end(reply.body);
        return;
      }
    } catch (err) {
      if (err instanceof AwsError) return sendAwsError(res, err);
      throw err;
    }
  }

  const emulator = emulatorFor(cls);
  const handler = emulator?.operations[cls.operation];
  if (handler === undefined) return forward(req, res, moto, body);

  if (!isObject(input)) {
    return sendAwsError(res, new AwsError('SerializationException', 'Request body is not a JSON object'));
  }
  try {
    const output = await handler(input, {
      now: Date.now(),
      moto: motoClient,
      headers: req.headers,
      call,
      query: url.searchParams,
    });
    sendAwsJson(res, 200, output, cls.protocol === 'rest' ? { 'content-type': 'application/json' } : {});
  } catch (err) {
    if (err instanceof AwsError) return sendAwsError(res, err);
    console.error(`gateway: ${cls.service}.${cls.operation} failed`, err);
    sendAwsError(res, new AwsError(SERVER_ERROR_CODES[cls.service] ?? 'InternalServiceException', String(err), 500));
  }
}

// ---------------------------------------------------------------- control API

async function control(req: IncomingMessage, res: ServerResponse, url: URL, method: string, moto: URL): Promise<void> {
  const route = `${method} ${url.pathname.replace(/\/+$/, '')}`;
  const readJson = async (): Promise<unknown> => {
    const text = (await readBody(req, 1024 * 1024)).toString('utf8');
    return text.trim() === '' ? undefined : JSON.parse(text);
  };
  const bodyOr400 = async (): Promise<{ ok: true; value: unknown } | { ok: false }> => {
    try {
      return { ok: true, value: await readJson() };
    } catch {
      sendJson(res, 400, { error: 'body is not valid JSON' });
      return { ok: false };
    }
  };

  const hook = /^(GET|POST|DELETE) \/_sluice\/webhooks\/([A-Za-z0-9_.-]+)(\/config)?$/.exec(route);
  if (hook) {
    const [, verb, name = '', config] = hook;
    const body = verb === 'POST' ? await bodyOr400() : { ok: true as const, value: undefined };
    if (!body.ok) return;
    if (config) {
      const error = verb === 'POST' ? webhooks.configure(name, body.value) : 'POST a config';
      return error ? sendJson(res, 400, { error }) : sendJson(res, 200, { ok: true });
    }
    if (verb === 'GET') return sendJson(res, 200, webhooks.deliveries(name));
    if (verb === 'DELETE') {
      webhooks.forget(name);
      return sendJson(res, 200, { ok: true });
    }
    const id = req.headers['x-sluice-event-id'];
    const answer = webhooks.receive(name, typeof id === 'string' ? id : undefined, body.value);
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    return sendJson(res, answer.status, { ok: answer.status < 300 });
  }

  switch (route) {
    case 'GET /_sluice/health':
      return sendJson(res, 200, { ok: true, moto: await motoAnswers(moto), motoUrl: moto.origin });

    case 'GET /_sluice/scenarios':
      return sendJson(res, 200, { scenarios: listScenarios() });
    case 'POST /_sluice/scenarios': {
      const body = await bodyOr400();
      if (!body.ok) return;
      const entry = parseScenario(body.value, BY_SERVICE);
      if (typeof entry === 'string') return sendJson(res, 400, { error: entry });
      setScenario(entry);
      return sendJson(res, 200, { ok: true, scenario: entry });
    }
    case 'DELETE /_sluice/scenarios':
      clearScenarios();
      return sendJson(res, 200, { ok: true });

    case 'GET /_sluice/faults':
      return sendJson(res, 200, { faults: listFaults() });
    case 'POST /_sluice/faults': {
      const body = await bodyOr400();
      if (!body.ok) return;
      const fault = parseFault(body.value);
      if (typeof fault === 'string') return sendJson(res, 400, { error: fault });
      addFault(fault);
      return sendJson(res, 200, { ok: true, fault });
    }
    case 'DELETE /_sluice/faults':
      clearFaults();
      return sendJson(res, 200, { ok: true });

    case 'GET /_sluice/calls': {
      const filter: CallFilter = {};
      for (const key of ['service', 'operation', 'resource'] as const) {
        const v = url.searchParams.get(key);
        if (v !== null) filter[key] = v;
      }
      const calls = queryCalls(filter);
      return sendJson(res, 200, { count: calls.length, calls });
    }
    case 'DELETE /_sluice/calls':
      clearCalls();
      return sendJson(res, 200, { ok: true });

    case 'GET /_sluice/events': {
      const filter: { source?: string; contains?: string } = {};
      const source = url.searchParams.get('source');
      const contains = url.searchParams.get('contains');
      if (source) filter.source = source;
      if (contains) filter.contains = contains;
      return sendJson(res, 200, { events: listEvents(filter) });
    }

    case 'GET /_sluice/limits':
      return sendJson(res, 200, { limits: listLimits() });
    case 'POST /_sluice/limits': {
      const body = await bodyOr400();
      if (!body.ok) return;
      const error = applyLimits(body.value);
      if (error !== undefined) return sendJson(res, 400, { error });
      return sendJson(res, 200, { ok: true, limits: listLimits() });
    }
    case 'DELETE /_sluice/limits':
      clearLimits();
      return sendJson(res, 200, { ok: true });

    case 'GET /_sluice/capacity':
      return sendJson(res, 200, { capacity: capacityReport(Date.now()) });
    case 'DELETE /_sluice/capacity':
      // The counters only: limits stay, and runs still active keep counting as active.
      clearCounters();
      return sendJson(res, 200, { ok: true });

    case 'POST /_sluice/reset':
      // Gateway state only; moto's resources are reset with POST /moto-api/reset.
      clearScenarios();
      clearFaults();
      clearCalls();
      clearLimits();
      clearCounters();
      resetEvents();
      webhooks.resetWebhooks();
      for (const e of [...EMULATORS, ...APIS]) e.reset();
      return sendJson(res, 200, { ok: true });

    default:
      return sendJson(res, 404, {
        error: `unknown control route ${route}`,
        routes: [
          'GET health',
          'GET|POST|DELETE scenarios',
          'GET|POST|DELETE faults',
          'GET|DELETE calls',
          'GET events',
          'GET|POST|DELETE limits',
          'GET|DELETE capacity',
          'POST reset',
          'GET|POST|DELETE webhooks/<name>',
          'POST webhooks/<name>/config',
        ].map((r) => `/_sluice/ ${r}`),
      });
  }
}

async function motoAnswers(moto: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(new URL('/moto-api/', moto), { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

// ---------------------------------------------------------------- forwarding to moto

/** Streams the request to moto and moto's response back, untouched except hop-by-hop headers. */
function forward(req: IncomingMessage, res: ServerResponse, moto: URL, body?: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const headers = { ...req.headers };
    for (const h of HOP_BY_HOP) delete headers[h];
    // Node's server has already answered "100 Continue" to the client; don't make moto do it again.
    delete headers.expect;
    if (body !== undefined) headers['content-length'] = String(body.length);

    const upstream = http.request(
      { protocol: moto.protocol, hostname: moto.hostname, port: moto.port, method: req.method, path: req.url, headers },
      (motoRes) => {
        const out = { ...motoRes.headers };
        for (const h of HOP_BY_HOP) delete out[h];
        res.writeHead(motoRes.statusCode ?? 502, motoRes.statusMessage, out);
        motoRes.pipe(res);
        motoRes.on('end', resolve);
        motoRes.on('error', () => {
          res.destroy();
          resolve();
        });
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent)
        sendJson(res, 502, { __type: 'ServiceUnavailableException', Message: `moto unreachable: ${err.message}` });
      else res.destroy();
      resolve();
    });
    // Client gave up: don't leave the upstream request hanging.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (body !== undefined) upstream.end(body);
    else req.pipe(upstream);
  });
}

function createMotoClient(moto: URL): Moto {
  const send = (
    method: string,
    path: string,
    headers: http.OutgoingHttpHeaders,
    payload: Buffer | undefined,
  ): Promise<{ status: number; body: unknown }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { protocol: moto.protocol, hostname: moto.hostname, port: moto.port, method, path, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: parseJson(Buffer.concat(chunks)) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  return {
    rest: (method, path, input, original) => {
      const payload = input === undefined ? undefined : Buffer.from(JSON.stringify(input));
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' };
      if (payload !== undefined) headers['content-length'] = payload.length;
      // moto routes REST requests by the service in the SigV4 credential scope.
      if (original.authorization !== undefined) headers.authorization = original.authorization;
      return send(method, path, headers, payload);
    },
    json: (target, input, original, contentType = 'application/x-amz-json-1.1') =>
      new Promise((resolve, reject) => {
        const payload = Buffer.from(JSON.stringify(input));
        const headers: http.OutgoingHttpHeaders = {
          'content-type': contentType,
          'content-length': payload.length,
          'x-amz-target': target,
        };
        // moto derives the region (and account) from the SigV4 credential scope.
        if (original.authorization !== undefined) headers.authorization = original.authorization;
        const req = http.request(
          { protocol: moto.protocol, hostname: moto.hostname, port: moto.port, method: 'POST', path: '/', headers },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: parseJson(Buffer.concat(chunks)) }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(payload);
      }),
  };
}

// ---------------------------------------------------------------- responses

/** IAM action prefixes that differ from the gateway's service names. */
const IAM_PREFIX: Record<string, string> = {
  sfn: 'states',
  'emr-serverless': 'emr-serverless',
  emr: 'elasticmapreduce',
};

/** AWS's wording when IAM refuses a call (the caller is the local stack's fixed test identity). */
function accessDeniedMessage(service: string, operation: string, resource: string | undefined): string {
  const action = `${IAM_PREFIX[service] ?? service}:${operation}`;
  const on =
    resource === undefined ? '' : ` on resource: ${service === 's3' ? `"arn:aws:s3:::${resource}"` : resource}`;
  return `User: arn:aws:sts::123456789012:assumed-role/sluice-worker/local is not authorized to perform: ${action}${on} because no identity-based policy allows the ${action} action`;
}

function sendFault(
  res: ServerResponse,
  cls: Classified,
  fault: Fault,
  method: string,
  resource: string | undefined,
): void {
  const throttle = fault.kind === 'throttle';
  if (cls.protocol === 's3') {
    // S3 speaks XML: SlowDown (503) is its throttling error, InternalError (500) its server error,
    // AccessDenied (403) IAM's refusal.
    const [status, code, message] =
      fault.kind === 'access-denied'
        ? [403, 'AccessDenied', fault.message ?? accessDeniedMessage('s3', cls.operation, resource)]
        : fault.kind === 'error'
          ? [
              fault.status ?? 400,
              fault.errorCode ?? 'InvalidRequest',
              fault.message ?? 'The request was refused (injected by the Sluice gateway)',
            ]
          : throttle
            ? [503, 'SlowDown', 'Please reduce your request rate.']
            : [500, 'InternalError', 'We encountered an internal error. Please try again.'];
    const requestId = randomUUID();
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlText(message)}</Message><RequestId>${requestId}</RequestId></Error>`;
    res.writeHead(status, {
      'content-type': 'application/xml',
      'x-amz-request-id': requestId,
      'content-length': Buffer.byteLength(xml),
    });
    res.end(method === 'HEAD' ? undefined : xml);
    return;
  }
  if (fault.kind === 'access-denied') {
    // awsJson services answer 400 with AccessDeniedException; REST-JSON ones (Lambda, EMR Serverless...) 403.
    return sendAwsError(
      res,
      new AwsError(
        'AccessDeniedException',
        fault.message ?? accessDeniedMessage(cls.service, cls.operation, resource),
        cls.protocol === 'rest' ? 403 : 400,
      ),
    );
  }
  if (fault.kind === 'error') {
    return sendAwsError(
      res,
      new AwsError(
        fault.errorCode ?? 'ValidationException',
        fault.message ?? 'The request was refused (injected by the Sluice gateway)',
        fault.status ?? 400,
      ),
    );
  }
  sendAwsError(
    res,
    throttle
      ? new AwsError(
          THROTTLE_CODES[cls.service] ?? 'ThrottlingException',
          'Rate exceeded (injected by the Sluice gateway)',
        )
      : new AwsError(
          SERVER_ERROR_CODES[cls.service] ?? 'InternalServiceException',
          'Internal service error (injected by the Sluice gateway)',
          500,
        ),
  );
}

function xmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function sendAwsJson(
  res: ServerResponse,
  status: number,
  body: JsonObject,
  extraHeaders: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
    ...extraHeaders,
  });
  res.end(payload);
}

function sendAwsError(res: ServerResponse, err: AwsError): void {
  sendAwsJson(
    res,
    err.status,
    { __type: err.code, Message: err.message, ...err.fields },
    { 'x-amzn-errortype': err.code },
  );
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

// ---------------------------------------------------------------- utils

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error(`request body larger than ${limit} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(buf: Buffer): unknown {
  if (buf.length === 0) return {};
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
