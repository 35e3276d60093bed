import { renderDeep, renderString, templateContext } from '../../common/templating';
import { topologicalOrder } from '../../common/pipeline';

describe('templates', () => {
  test('every name renders for a date, across month and year ends', () => {
    const ctx = templateContext('sales', '2024-03-01');
    expect(
      renderString(
        '{{ds}}|{{ ds_nodash }}|{{ year }}/{{month}}/{{ day }}|{{ prev_ds }}|{{ next_ds }}|{{ pipeline }}',
        ctx,
      ),
    ).toBe('2024-03-01|20240301|2024/03/01|2024-02-29|2024-03-02|sales');
    expect(templateContext('p', '2023-12-31').next_ds).toBe('2024-01-01');
    expect(templateContext('p', '2024-01-01').prev_ds).toBe('2023-12-31');
  });

  test('renders nested params, leaving keys and non-strings alone', () => {
    const out = renderDeep(
      { JobName: 'etl', Arguments: { '--day': '{{ ds }}' }, Tags: ['{{ year }}'], NumberOfWorkers: 2, Flag: true },
      templateContext('p', '2024-02-29'),
    );
    expect(out).toEqual({
      JobName: 'etl',
      Arguments: { '--day': '2024-02-29' },
      Tags: ['2024'],
      NumberOfWorkers: 2,
      Flag: true,
    });
  });
});

describe('DAG order', () => {
  test('dependencies come first', () => {
    const result = topologicalOrder([
      { id: 'report', dependsOn: ['transform', 'crawl'] },
      { id: 'transform', dependsOn: ['land'] },
      { id: 'crawl', dependsOn: ['land'] },
      { id: 'land', dependsOn: [] },
    ]);
    if (!('order' in result)) throw new Error(`unexpected cycle ${result.cycle.join(',')}`);
    const pos = (id: string) => result.order.indexOf(id);
    expect(pos('land')).toBeLessThan(pos('transform'));
    expect(pos('land')).toBeLessThan(pos('crawl'));
    expect(pos('transform')).toBeLessThan(pos('report'));
    expect(pos('crawl')).toBeLessThan(pos('report'));
  });
});
