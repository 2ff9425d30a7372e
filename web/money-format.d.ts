// Types of money-format.js, for the tests that call it without a browser.
export function formatDecimal(text: string, dp?: number): string;
export function formatMoney(text: string, currency?: string): string;
export function formatMoneyCompact(text: string, currency?: string): string;
export function multiplyDecimal(text: string, factor: number): string;
export function negateDecimal(text: string): string;
export function compareDecimal(a: string, b: string): -1 | 0 | 1;
