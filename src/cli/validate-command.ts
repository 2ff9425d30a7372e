import type { Command } from 'commander';

export function registerValidate(program: Command): void {
  void program;
}
