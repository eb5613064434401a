import { describe, expect, it } from 'vitest';
import { escapeHelp, escapeLabelValue, formatValue, renderPrometheus } from './prometheus.js';

describe('Prometheus text renderer', () => {
  it('writes HELP and TYPE lines, then one line per sample', () => {
    const text = renderPrometheus([
      { name: 'x_total', help: 'Things counted.', type: 'counter', samples: [{ value: 3 }] },
      { name: 'y', help: 'A gauge.', type: 'gauge', samples: [{ labels: { a: '1', b: 'two' }, value: 0.5 }, { labels: { a: '2', b: 'three' }, value: -1 }] },
    ]);
    expect(text).toBe(
      '# HELP x_total Things counted.\n# TYPE x_total counter\nx_total 3\n' +
        '# HELP y A gauge.\n# TYPE y gauge\ny{a="1",b="two"} 0.5\ny{a="2",b="three"} -1\n',
    );
  });

  it('keeps a family without samples visible', () => {
    expect(renderPrometheus([{ name: 'empty', help: 'Nothing yet.', type: 'gauge', samples: [] }])).toBe('# HELP empty Nothing yet.\n# TYPE empty gauge\n');
  });

  it('escapes label values (backslash, quote, newline) and HELP text (backslash, newline)', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeHelp('line1\nC:\\path "q"')).toBe('line1\\nC:\\\\path "q"');
    const text = renderPrometheus([{ name: 'm', help: 'h', type: 'gauge', samples: [{ labels: { group: 'svc "x"\\\n' }, value: 1 }] }]);
    expect(text).toContain('m{group="svc \\"x\\"\\\\\\n"} 1\n');
    // Every sample stays on one line whatever the label holds.
    expect(text.trimEnd().split('\n')).toHaveLength(3);
  });

  it('formats special values as the format spells them', () => {
    expect(formatValue(NaN)).toBe('NaN');
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
    expect(formatValue(1e21)).toBe('1e+21');
    expect(formatValue(42)).toBe('42');
  });

  it('refuses invalid or duplicate metric names and invalid label names', () => {
    expect(() => renderPrometheus([{ name: '9bad', help: '', type: 'gauge', samples: [] }])).toThrow(/invalid metric name/);
    expect(() => renderPrometheus([{ name: 'has-dash', help: '', type: 'gauge', samples: [] }])).toThrow(/invalid metric name/);
    expect(() =>
      renderPrometheus([
        { name: 'dup', help: '', type: 'gauge', samples: [] },
        { name: 'dup', help: '', type: 'gauge', samples: [] },
      ]),
    ).toThrow(/twice/);
    expect(() => renderPrometheus([{ name: 'm', help: '', type: 'gauge', samples: [{ labels: { 'bad-name': 'x' }, value: 1 }] }])).toThrow(/invalid label name/);
    expect(() => renderPrometheus([{ name: 'm', help: '', type: 'gauge', samples: [{ labels: { __reserved: 'x' }, value: 1 }] }])).toThrow(/invalid label name/);
  });
});
