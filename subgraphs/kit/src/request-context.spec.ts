import { acceptRequestId } from './request-context';

describe('request ids', () => {
  it('keeps a sane client id', () => {
    expect(acceptRequestId('abc-123_x.y:z')).toBe('abc-123_x.y:z');
    expect(acceptRequestId('a'.repeat(128))).toBe('a'.repeat(128));
  });

  it.each([['', 'empty'], ['a'.repeat(129), 'too long'], ['has space', 'space'], ['<script>', 'markup'], ['ünï', 'non-ascii']])(
    'replaces an insane one (%s: %s) with a generated uuid',
    (candidate) => {
      const id = acceptRequestId(candidate);
      expect(id).not.toBe(candidate);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    },
  );

  it('generates one when none is sent', () => {
    expect(acceptRequestId(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });
});
