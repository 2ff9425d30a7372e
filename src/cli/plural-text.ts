/**
 * A count with its noun, singular or plural: "1 account", "2 accounts".
 * @example plural(1, 'starting account') // '1 starting account'
 */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? noun : nouns}`;
}
