import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { parsePrometheusText, valueOf } from '../helpers/prom-text.ts';

// The strict parser test/integration/metrics.test.ts reads /metrics with: it must accept what
// prom-client writes and refuse what the text format does not allow.

test('reads prom-client output: labels with escapes, counters, histograms', async () => {
  const registry = new Registry();
  const c = new Counter({ name: 'x_total', help: 'a "help"\nline', labelNames: ['l'], registers: [registry] });
  c.inc({ l: 'a"b\\c\nd' }, 2);
  const h = new Histogram({ name: 'h_seconds', help: 'h', buckets: [0.1, 1], registers: [registry] });
  h.observe(0.5);
  h.observe(5);
  const m = parsePrometheusText(await registry.metrics());
  assert.equal(valueOf(m, 'x_total', { l: 'a"b\\c\nd' }), 2);
  assert.equal(m.get('h_seconds')?.type, 'histogram');
  assert.equal(valueOf(m, 'h_seconds_bucket', { le: '1' }), 1);
  assert.equal(valueOf(m, 'h_seconds_bucket', { le: '+Inf' }), 2);
  assert.equal(valueOf(m, 'h_seconds_count'), 2);
});

test('refuses what the format does not allow', () => {
  const bad = [
    'no_newline 1',
    'x{l="a"} notanumber\n',
    'x{l=a} 1\n',
    'x{l="a"} 1\nx{l="a"} 2\n',
    '# TYPE x counter\n# TYPE x counter\nx 1\n',
    '# TYPE x bogus\nx 1\n',
    'x 1\ny 1\nx{a="b"} 2\n',
    'x 1\n# TYPE x counter\n',
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\nh_sum 1\n',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\nh_sum 1\n',
    '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 1\nh_sum 1\n',
    '9x 1\n',
  ];
  for (const text of bad) assert.throws(() => parsePrometheusText(text), Error, JSON.stringify(text));
});
