// node:test's t.diagnostic(): a line of context in the test output (vitest shows it under the test).
export function diagnostic(message: string): void {
  console.log(message);
}
