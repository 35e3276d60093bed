import { compare, failedExpectations, parseComparison } from '../../common/checks';
import { definePipeline, type PipelineValidationError } from '../../common/pipeline';

describe('expect checks', () => {
  test.each([
    ['>0', '3', true],
    ['>0', '0', false],
    ['>= 1000', '999.5', false],
    ['>= 1000', '1000', true],
    ["== 'ok'", 'ok', true],
    ['== ok', 'not ok', false],
    ['!= 0', '0', false],
    ['< 10', '9', true],
  ])('%s against %s → %s', (expr, actual, ok) => {
    const c = parseComparison(expr);
    if (!c) throw new Error(`did not parse ${expr}`);
    expect(compare(actual, c)).toBe(ok);
  });

  test('numbers compare as numbers, not text', () => {
    expect(compare('10', parseComparison('> 9')!)).toBe(true);
  });

  test('failures say what was expected and what was found', () => {
    expect(failedExpectations({ rows: '>0', firstValue: '>= 100' }, { rowCount: 0, firstRows: [] })).toEqual([
      'rows >0 (got 0)',
      'firstValue >= 100 (got no rows)',
    ]);
    expect(failedExpectations({ rows: '>0', firstValue: '>= 100' }, { rowCount: 1, firstRows: [['250']] })).toEqual([]);
  });

  test('a malformed check, or a check on a kind without rows, is rejected at load time', () => {
    const bad = (stage: Record<string, unknown>) => {
      try {
        definePipeline({ name: 'p', stages: [{ id: 's', dependsOn: [], ...stage }] as never });
      } catch (e) {
        return (e as PipelineValidationError).issues;
      }
      throw new Error('accepted');
    };
    expect(bad({ kind: 'athena.query', params: { QueryString: 'SELECT 1' }, expect: { rows: 'lots' } })).toEqual([
      expect.objectContaining({ stage: 's', field: 'expect.rows', received: 'lots', problem: 'not a comparison' }),
    ]);
    expect(bad({ kind: 'glue.job', params: { JobName: 'j' }, expect: { rows: '>0' } })).toEqual([
      expect.objectContaining({ stage: 's', field: 'expect', problem: 'glue.job has no result rows to check' }),
    ]);
  });
});
