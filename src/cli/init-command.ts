import type { Command } from 'commander';

export function registerInit(program: Command): void {
  void program;
}
