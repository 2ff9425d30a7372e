/** A number written as text ("-12.5", "1e3"): a spreadsheet reads it as a number, never as a formula. */
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A text cell a spreadsheet would run as a formula (it starts with = + - @, a tab or a carriage
 * return) gets a leading apostrophe, as OWASP recommends against CSV injection; text that is a
 * plain number is left exact, so that -12.5 stays the number -12.5. Every CSV meant for
 * spreadsheets (`--format csv`, the CSV outbox of plays) writes its text cells through this.
 * @example spreadsheetSafe('=HYPERLINK("http://x")') // "'=HYPERLINK(\"http://x\")"
 */
export function spreadsheetSafe(text: string): string {
  return /^[=+\-@\t\r]/.test(text) && !NUMBER_TEXT.test(text) ? `'${text}` : text;
}
