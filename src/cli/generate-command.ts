import type { Command } from 'commander';

export function registerGenerate(program: Command): void {
  void program;
}
