import { findMalformedString, malformedText } from './input-strings';

describe('malformed text in inputs', () => {
  it('finds NUL and unpaired surrogates, and passes well-formed text of any script', () => {
    expect(malformedText('plain')).toBeUndefined();
    expect(malformedText('Grüße, 東京 \uD83D\uDE00')).toBeUndefined();
    expect(malformedText('a\u0000b')).toBe('a NUL character');
    expect(malformedText('\uD83D')).toBe('an unpaired UTF-16 surrogate');
    expect(malformedText('x\uDE00')).toBe('an unpaired UTF-16 surrogate');
    expect(malformedText('\uDE00\uD83D')).toBe('an unpaired UTF-16 surrogate');
  });

  it('names the path of the first malformed string anywhere in a value, keys included', () => {
    expect(findMalformedString({ filter: { search: 'ok', tags: ['a', 'b'] }, first: 3 })).toBeUndefined();
    expect(findMalformedString({ filter: { search: 'x\u0000' } })).toEqual({ path: 'filter.search', problem: 'a NUL character' });
    expect(findMalformedString({ lines: [{ productId: 'p' }, { productId: '\uD800' }] })).toMatchObject({ path: 'lines.1.productId' });
    expect(findMalformedString({ ['k\u0000']: 1 })).toMatchObject({ path: 'k\u0000' });
    expect(findMalformedString('\u0000')).toMatchObject({ path: '(value)' });
  });

  it('walks values nested deeper than the call stack allows recursion', () => {
    let deep: unknown = 'bottom\u0000';
    for (let i = 0; i < 100_000; i += 1) deep = { d: deep };
    expect(findMalformedString(deep)?.problem).toBe('a NUL character');
  });
});
