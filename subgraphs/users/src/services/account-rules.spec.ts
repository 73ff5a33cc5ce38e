import { checkPassword, normaliseEmail, normaliseName, validatePassword } from './account-rules';

describe('password rules', () => {
  it('needs at least 8 characters', () => {
    expect(checkPassword('1234567')).toMatch(/at least 8/);
    expect(checkPassword('12345678')).toBeUndefined();
    expect(checkPassword('')).toMatch(/at least 8/);
  });

  it('counts characters, not bytes or UTF-16 units, for the minimum', () => {
    expect(checkPassword('😀😀😀😀😀😀😀')).toMatch(/at least 8/); // 7 characters, 28 bytes
    expect(checkPassword('😀😀😀😀😀😀😀😀')).toBeUndefined(); // 8 characters, 32 bytes
  });

  it('allows at most 72 UTF-8 bytes, because bcrypt ignores the rest', () => {
    expect(checkPassword('a'.repeat(72))).toBeUndefined();
    expect(checkPassword('a'.repeat(73))).toMatch(/72 bytes/);
    expect(checkPassword('é'.repeat(36))).toBeUndefined(); // 72 bytes
    expect(checkPassword('é'.repeat(37))).toMatch(/72 bytes/); // 37 characters, 74 bytes
    expect(checkPassword('😀'.repeat(18))).toBeUndefined(); // 72 bytes
    expect(checkPassword(`${'😀'.repeat(18)}a`)).toMatch(/72 bytes/);
  });

  it('throws BAD_USER_INPUT naming the field', () => {
    expect(() => validatePassword('short', 'newPassword')).toThrow(/newPassword must be at least 8/);
    try {
      validatePassword('short');
    } catch (error) {
      expect((error as { extensions: Record<string, unknown> }).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'password' });
    }
    expect.assertions(2);
  });
});

describe('email normalisation', () => {
  it('trims and lower-cases', () => {
    expect(normaliseEmail('  Ada.Lovelace@Example.COM \n')).toBe('ada.lovelace@example.com');
  });

  it.each(['', '   ', 'plain', 'no-at.example.com', 'a@b', 'a@@b.com', 'a b@c.com', 'a@b .com', '@example.com', 'a@.com', 'a@b.', `${'x'.repeat(250)}@example.com`])(
    'refuses %j with BAD_USER_INPUT',
    (email) => {
      expect(() => normaliseEmail(email)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }));
    },
  );

  it.each(['a@b.co', 'first.last+tag@sub.example.org', 'ÜSER@exämple.de'])('accepts %j', (email) => {
    expect(normaliseEmail(email)).toBe(email.toLowerCase());
  });
});

describe('names', () => {
  it('trims; blank and null clear; undefined leaves unchanged', () => {
    expect(normaliseName('  Ada  ', 'firstName')).toBe('Ada');
    expect(normaliseName('   ', 'firstName')).toBeNull();
    expect(normaliseName(null, 'firstName')).toBeNull();
    expect(normaliseName(undefined, 'firstName')).toBeUndefined();
  });

  it('allows 100 characters and refuses more, or control characters', () => {
    expect(normaliseName('ñ'.repeat(100), 'lastName')).toHaveLength(100);
    expect(() => normaliseName('ñ'.repeat(101), 'lastName')).toThrow(/lastName must be at most 100/);
    expect(() => normaliseName('Ada\u0000', 'lastName')).toThrow(/control/);
  });
});
