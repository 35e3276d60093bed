import { runsQuery } from '../../activities/runs';

test('a date range is half-open: from midnight of the first date to before midnight of the day after the last', () => {
  expect(runsQuery('sales', '2024-03-01', '2024-03-31')).toBe(
    'WorkflowType = "runPipeline" AND SluicePipeline = "sales" AND SluiceDate >= "2024-03-01T00:00:00Z" AND SluiceDate < "2024-04-01T00:00:00Z"',
  );
  // The day after a leap day and after the last day of a year.
  expect(runsQuery('sales', '2024-02-29', '2024-02-29')).toContain('SluiceDate < "2024-03-01T00:00:00Z"');
  expect(runsQuery('sales', undefined, '2024-12-31')).toBe(
    'WorkflowType = "runPipeline" AND SluicePipeline = "sales" AND SluiceDate < "2025-01-01T00:00:00Z"',
  );
  expect(runsQuery('sales')).toBe('WorkflowType = "runPipeline" AND SluicePipeline = "sales"');
  expect(runsQuery('sales', '2024-03-01')).not.toContain('<');
});
