/**
 * Whether a process of this machine is running. A process of another user counts as running
 * (signalling it is refused, it is not gone); a pid that is not a positive integer is not.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
