/**
 * Reads a history JSON file (as `temporal workflow show -o json` writes it) into the History message
 * Worker.runReplayHistory takes.
 *
 * Not with @temporalio/common's historyFromJSON: npm installs one protobufjs 8 copy per Temporal
 * package here (another dependency pins protobufjs 7 at the top level), and protobufjs refuses a
 * type built by another copy ("type must be a Type"). This parses with the copy that
 * @temporalio/proto's own classes come from.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

type History = proto.temporal.api.history.v1.History;
interface ProtoJson {
  fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): History | null;
}

const protoJson = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType(
  'temporal.api.history.v1.History',
);

export function loadHistory(file: string): History {
  const history = protoJson.fromJson(historyType, JSON.parse(readFileSync(file, 'utf8')), {
    ignoreUnknownFields: true,
  });
  if (!history) throw new Error(`${file} is not a history`);
  return history;
}
