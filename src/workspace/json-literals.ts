/** A JSON number that the engine's reader gives back with the same digits: no exponent, at most 15 significant digits, 6 places. */
const PLAIN_JSON_NUMBER = /^-?(0|[1-9]\d{0,14})(\.\d{1,6})?$/;

export interface JsonLiteral {
  readonly row: number;
  readonly key: string;
  readonly literal: string;
}

/**
 * The number literals of a JSON or JSONL file that the engine would read through a double (and so
 * could round: 1234567.1234567891234) or print otherwise (1e3), with their record (1 = first) and key.
 * Only values of a record's own keys count; nested values are not columns.
 */
export function jsonNumberLiterals(text: string): JsonLiteral[] {
  const out: JsonLiteral[] = [];
  const recordDepth = text.trimStart().startsWith('[') ? 1 : 0;
  let depth = 0;
  let row = 0;
  let key: string | null = null;
  let expectKey = false;
  for (let i = 0; i < text.length; ) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (expectKey && depth === recordDepth + 1) {
        key = JSON.parse(text.slice(i, j + 1)) as string;
        expectKey = false;
      }
      i = j + 1;
    } else if (ch === '{' || ch === '[') {
      if (ch === '{' && depth === recordDepth) row++;
      depth++;
      if (ch === '{' && depth === recordDepth + 1) expectKey = true;
      i++;
    } else if (ch === '}' || ch === ']') {
      depth--;
      i++;
    } else if (ch === ',') {
      if (depth === recordDepth + 1) expectKey = true;
      i++;
    } else if (ch === '-' || (ch >= '0' && ch <= '9')) {
      let j = i + 1;
      while (j < text.length && /[0-9eE+\-.]/.test(text[j]!)) j++;
      const literal = text.slice(i, j);
      const digits = literal.replace(/[^0-9]/g, '').replace(/^0+/, '').length;
      if (depth === recordDepth + 1 && key !== null && (!PLAIN_JSON_NUMBER.test(literal) || digits > 15)) out.push({ row, key, literal });
      i = j;
    } else i++;
  }
  return out;
}
