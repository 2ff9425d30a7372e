import { describe, expect, it } from 'vitest';
import { monthEnd, monthIndex, shiftDay } from '../src/engine/months.js';

describe('shiftDay: the same day some months away (the renewals’ prior period looks from it)', () => {
  it('keeps the day, clamps it to a shorter month, and keeps a month’s last day a last day', () => {
    expect(shiftDay('2026-07-01', -6)).toBe('2026-01-01');
    expect(shiftDay('2026-01-15', -2)).toBe('2025-11-15');
    expect(shiftDay('2026-03-31', -1)).toBe('2026-02-28');
    expect(shiftDay('2024-03-31', -1)).toBe('2024-02-29');
    expect(shiftDay('2026-06-30', -1)).toBe('2026-05-31');
    expect(shiftDay('2026-02-28', 1)).toBe('2026-03-31');
    expect(shiftDay('2026-05-30', 1)).toBe('2026-06-30');
  });

  it('moves by exactly that many months, and back again for any day up to the 27th (the 28th of February is a last day)', () => {
    for (let m = monthIndex('2023-01'); m <= monthIndex('2026-12'); m++) {
      for (const day of ['01', '15', '27']) {
        const d = `${monthEnd(m).slice(0, 7)}-${day}`;
        for (const k of [-13, -6, -1, 1, 12]) {
          const shifted = shiftDay(d, k);
          expect(monthIndex(shifted.slice(0, 7))).toBe(m + k);
          expect(shiftDay(shifted, -k)).toBe(d);
        }
      }
    }
  });
});
