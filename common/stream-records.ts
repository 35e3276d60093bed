/** The `Records` param shared by kinesis.put and firehose.put: pure, imported by their descriptors. */
import type { ParamProblem } from '../kinds/types';

/** Problems with a `Records` list of kinesis.put / firehose.put (AWS's record shape: Data, and PartitionKey for Kinesis). */
export function recordsProblems(params: Record<string, unknown>, kinesis: boolean): ParamProblem[] {
  const records = params.Records;
  if (records === undefined) return [];
  const shape = kinesis ? '{ Data: ..., PartitionKey: ... }' : '{ Data: ... }';
  if (!Array.isArray(records) || records.length === 0) {
    return [
      {
        field: 'Records',
        received: records,
        problem: 'expected a non-empty list of records',
        fix: `give a list of records such as ${shape}, or use RecordsFile`,
      },
    ];
  }
  const out: ParamProblem[] = [];
  records.forEach((r: unknown, i) => {
    const rec = r !== null && typeof r === 'object' && !Array.isArray(r) ? (r as Record<string, unknown>) : undefined;
    if (rec?.Data === undefined || rec.Data === null) {
      out.push({
        field: `Records[${i}]`,
        received: r,
        problem: 'a record needs Data (a string, or any value sent as JSON)',
        fix: `write it as ${shape}`,
      });
    } else if (kinesis && rec.PartitionKey !== undefined && typeof rec.PartitionKey !== 'string') {
      out.push({
        field: `Records[${i}].PartitionKey`,
        received: rec.PartitionKey,
        problem: 'expected a string',
        fix: 'quote it',
      });
    }
  });
  return out;
}
