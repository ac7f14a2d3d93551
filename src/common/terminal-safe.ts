// Untrusted text (PR titles, paths, reasons, messages from the server) reaches a terminal only
// through here: control characters, ANSI escape sequences included, and the bidirectional
// overrides that reorder what is shown are replaced by visible `\u001b`-style escapes, so a title
// cannot recolour, erase, retitle or rewrite the lines around it. Newlines and tabs stay.
// (JSON output stays valid JSON: the escapes are JSON's own.)
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A line writer for a stream that passes every line through terminalSafe. */
export function safeLineWriter(stream: { write(s: string): unknown }): (text: string) => void {
  return (text) => void stream.write(`${terminalSafe(text)}\n`);
}

/** The same writers, each line passed through terminalSafe first: the CLI's one output point. */
export function terminalSafeIo<T extends { out: (t: string) => void; err: (t: string) => void }>(io: T): T {
  return { ...io, out: (t: string) => io.out(terminalSafe(t)), err: (t: string) => io.err(terminalSafe(t)) };
}
