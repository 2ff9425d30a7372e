import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbDriver } from '../src/drivers/duckdb-driver.js';
import { MAX_RULE_DEPTH, RuleError, compileRule } from '../src/playbooks/rule-expression.js';
import { RULE_FIELDS } from '../src/playbooks/rule-fields.js';

/**
 * The trigger language, evaluated by DuckDB on a small `rule_inputs` table: each case lists the
 * accounts the rule must select.
 */
let db: DuckDbDriver;
beforeAll(async () => {
  db = await DuckDbDriver.open();
  await db.exec(`CREATE TABLE rule_inputs AS SELECT * FROM (VALUES
    ('A', 0.92, 1, 40, -0.30, 1, 'red', 'enterprise', TRUE, 120000.0),
    ('B', 0.50, 2, 200, 0.10, 0, 'green', 'smb', FALSE, 20000.0),
    ('C', NULL, 3, NULL, NULL, NULL, 'yellow', 'O''Brien & Co', FALSE, 5000.0),
    ('D', 0.81, 2, 55, -0.26, NULL, 'yellow', 'mid-market', TRUE, 60000.0)
  ) v(account_id, seat_utilisation, tier_number, days_to_renewal, usage_trend_90d, activation_achieved, health_colour, segment, sponsor_present, arr)`);
});
afterAll(() => db.close());

async function selects(rule: string): Promise<string[]> {
  const { sql } = compileRule(rule, db.dialect);
  const rows = await db.query(`SELECT account_id FROM rule_inputs WHERE ${sql} ORDER BY account_id`);
  return rows.map((r) => String(r['account_id']));
}

describe('operators', () => {
  it.each([
    ['seat_utilisation > 0.8', ['A', 'D']],
    ['seat_utilisation >= 0.81', ['A', 'D']],
    ['seat_utilisation < 0.81', ['B']],
    ['seat_utilisation <= 0.5', ['B']],
    ['tier = 2', ['B', 'D']],
    ['tier != 2', ['A', 'C']],
    ['tier <> 2', ['A', 'C']],
    ['tier == 1', ['A']],
    ['tier in (1, 2)', ['A', 'B', 'D']],
    ['tier not in (1, 2)', ['C']],
    ["health_colour = 'red'", ['A']],
    ["health_colour in ('red', 'yellow')", ['A', 'C', 'D']],
    ["segment = 'O''Brien & Co'", ['C']],
    ['usage_trend_90d < -0.25', ['A', 'D']],
    ['usage_trend_90d<-0.25', ['A', 'D']],
    ['days_to_renewal <= 60 and usage_trend_90d < -0.25', ['A', 'D']],
    ['days_to_renewal <= 45 or tier = 3', ['A', 'C']],
    ['not activated', ['B']], // unknown activation selects nothing, either way
    ['activated', ['A']],
    ['activated = false', ['B']],
    ['sponsor_present and not (tier = 1)', ['D']],
    ['seat_utilisation is null', ['C']],
    ['seat_utilisation is not null and arr >= 60000', ['A', 'D']],
    ['(tier = 1 or tier = 3) and not sponsor_present', ['C']],
    ['NOT activated OR Tier = 1', ['A', 'B']],
    ['seat_utilization > 0.9', ['A']], // the US spelling is an alias
  ])('%s', async (rule, expected) => {
    expect(await selects(rule)).toEqual(expected);
  });

  it('and binds tighter than or, not tighter than and', async () => {
    expect(await selects('tier = 3 or tier = 2 and sponsor_present')).toEqual(['C', 'D']);
    expect(await selects('not sponsor_present and tier = 2')).toEqual(['B']);
  });

  it('lists the fields a rule reads', () => {
    expect(compileRule('seat_utilization > 0.8 and tier in (1, 2)', db.dialect).fields).toEqual(['seat_utilisation', 'tier']);
  });
});

const error = (rule: string): RuleError => {
  try {
    compileRule(rule, db.dialect);
  } catch (e) {
    expect(e).toBeInstanceOf(RuleError);
    return e as RuleError;
  }
  throw new Error(`expected an error for ${rule.slice(0, 80)}`);
};

describe('malformed rules say what is wrong and where', () => {
  it.each([
    ['seat_utilizaton > 0.8', 0, "unknown field 'seat_utilizaton' (did you mean seat_utilization?)"],
    ['tier > 1 and', 12, 'the rule ends too soon'],
    ['tier > > 1', 7, "expected a field or a value, found '>'"],
    ["health_colour > 'red'", 14, "'>' compares numbers; texts take = or !="],
    ["tier = 'one'", 7, "cannot compare tier (a number) with a text"],
    ['tier', 0, 'a rule needs a true/false condition, not tier (a number)'],
    ['not tier', 4, "'not' needs a true/false condition, not tier (a number)"],
    ['activated and 3', 14, "'and' needs a true/false condition, not a number"],
    ["tier in (1, 'two')", 12, 'the list mixes in a text: tier (a number) takes numbers'],
    ['tier in (arr)', 9, 'a list after in holds numbers or quoted texts only'],
    ["health_colour = 'red", 16, 'a text that is never closed (a missing quote)'],
    ['tier = 1 2', 9, "unexpected '2' (expected and, or, or the end of the rule)"],
    ['tier is 1', 8, "expected null after 'is' (is null, is not null)"],
    ['tier = 1; drop table x', 8, "unexpected ';'"],
    ['(tier = 1', 9, "expected ')', found the end of the rule"],
    ['', 0, 'an empty rule'],
    ['tier = 1.2.3', 7, "'1.2.3' is not a number"],
    ['!activated', 0, "'!' on its own: use 'not' or '!='"],
  ])('%s', (rule, position, problem) => {
    const e = error(rule);
    expect(e.problem).toBe(problem);
    expect(e.position).toBe(position);
    expect(e.message).toContain(`at position ${position + 1}:\n    ${rule}\n    ${' '.repeat(position)}^`);
  });

  it('never lets text reach SQL unquoted', async () => {
    // The quote is doubled by the dialect; the rule selects nothing and the table survives.
    // In the rule language this is one text, x' OR TRUE OR 'y; in SQL it stays one string.
    expect(await selects("segment = 'x'' OR TRUE OR ''y'")).toEqual([]);
    expect((await db.query('SELECT count(*) AS n FROM rule_inputs'))[0]!['n']).toBe('4');
  });
});

describe('deep nesting is a rule error, not a stack overflow', () => {
  it.each([
    ['3,000 parentheses', `${'('.repeat(3000)}tier = 1${')'.repeat(3000)}`],
    ['5,000 nots', `${'not '.repeat(5000)}tier = 1`],
    ['a chain of 5,000 ands', Array.from({ length: 5000 }, () => 'tier = 1').join(' and ')],
    ['a chain of 5,000 ors', Array.from({ length: 5000 }, () => 'tier = 1').join(' or ')],
  ])('%s', (_, rule) => {
    expect(error(rule).problem).toBe(`the rule nests more than ${MAX_RULE_DEPTH} levels deep (parentheses, 'not's and chains of and/or); split it into simpler conditions`);
  });

  it('a rule just inside the limit compiles and selects what it says', async () => {
    // 99 parentheses around one condition, and an even number of nots.
    expect(await selects(`${'('.repeat(MAX_RULE_DEPTH - 1)}tier = 2${')'.repeat(MAX_RULE_DEPTH - 1)}`)).toEqual(['B', 'D']);
    expect(await selects(`${'not '.repeat(MAX_RULE_DEPTH - 2)}tier = 2`)).toEqual(['B', 'D']);
    expect(await selects(Array.from({ length: 50 }, (_, k) => `tier != ${k + 10}`).join(' and ') + ' and tier = 1')).toEqual(['A']);
  });
});

describe('docs/playbooks.md', () => {
  it('names every field a rule may use', () => {
    const doc = readFileSync(new URL('../docs/playbooks.md', import.meta.url), 'utf8');
    const missing = Object.keys(RULE_FIELDS).filter((f) => !doc.includes(`\`${f}\``));
    expect(missing).toEqual([]);
  });
});
