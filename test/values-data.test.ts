import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Money, stringifyJson } from '../src/index.js';

/**
 * Values are data, never markers (docs/data-contract.md#values-are-data): no text in the data can
 * change how an output is written, whatever bytes it holds.
 */

describe('stringifyJson', () => {
  it('writes a name that looks like an old in-band marker as the text it is', () => {
    const name = '\u0000money999\u0000';
    const text = stringifyJson([{ name, mrr: new Money('1234567.1234567891234') }, { name: '\u0000money0\u0000' }]);
    const parsed = JSON.parse(text) as { name: string }[];
    expect(parsed.map((r) => r.name)).toEqual([name, '\u0000money0\u0000']);
    // The amount is a JSON number with every digit.
    expect(text).toContain('"mrr": 1234567.1234567891234');
  });

  it('is JSON.stringify for values without Money, at any indent', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 4 }), (v, indent) => {
        expect(stringifyJson(v, indent)).toBe(JSON.stringify(v, null, indent));
      }),
      { numRuns: 300 },
    );
  });

  it('leaves out undefined fields, writes null for them in arrays and bigint as text', () => {
    expect(stringifyJson({ a: undefined, b: [undefined, 2n], c: new Date(0) }, 0)).toBe('{"b":[null,"2"],"c":"1970-01-01T00:00:00.000Z"}');
  });
});
