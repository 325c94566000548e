import { describe, expect, it } from 'vitest';
import { pseudonym, pseudonymizer } from '../../lib/pseudonym';

describe('pseudonymizer', () => {
  it('gives pseudonym\'s answer for every id, before and after its memory fills and starts again', () => {
    const of = pseudonymizer('key-one', 3);
    const ids = ['u1', 'u2', 'u1', 'u3', 'u4', 'u2', 'u1', 'ü5', '', 'u4'];
    for (const id of ids) expect(of(id)).toBe(pseudonym(id, 'key-one'));
  });

  it('keeps keys apart: each pseudonymizer answers for its own key only', () => {
    const a = pseudonymizer('key-one');
    const b = pseudonymizer('key-two');
    expect(a('u1')).toBe(pseudonym('u1', 'key-one'));
    expect(b('u1')).toBe(pseudonym('u1', 'key-two'));
    expect(a('u1')).not.toBe(b('u1'));
  });
});
