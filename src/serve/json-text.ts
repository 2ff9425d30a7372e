/**
 * JSON text of an answer: money (Money, whose toJSON is its decimal text) as exact decimal strings,
 * as the OpenAPI document says; bigint as text.
 * @example toJson({ arr: Money.from('1200.50') }) // '{"arr":"1200.50"}'
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
