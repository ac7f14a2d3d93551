// A tree (directory or git commit) that cannot be read: names what and why, for exit code 2.
export class TreeError extends Error {
  constructor(
    readonly location: string,
    readonly reason: string,
  ) {
    super(`${location}: ${reason}`);
    this.name = 'TreeError';
  }
}
