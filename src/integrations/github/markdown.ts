// GitHub-flavoured Markdown for untrusted text (finding messages with the change's paths, notes,
// reasons people typed): shown as typed, never as a mention that pings a team, a link, an image
// that loads from an attacker's host, or HTML. Only what can start those is escaped, so paths stay
// readable in the raw text too (line breaks become spaces, so nothing starts a line either).
// https://spec.commonmark.org/0.31.2/#backslash-escapes
const PUNCTUATION = /[\\`*[\]<>@~&]/g;
const LINE_BREAK = /\r?\n|\r/g;

/** One line of untrusted text for inline use: punctuation backslash-escaped, line breaks made spaces. */
export function escapeMarkdown(text: string): string {
  return text.replace(LINE_BREAK, ' ').replace(PUNCTUATION, (c) => `\\${c}`);
}

/** Code cannot be escaped, only fenced: CommonMark closes a fence or span only on a run of equal length. */
const longestBacktickRun = (text: string) => Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));

/** A fenced code block the content cannot close (a diff holding ``` stays code). */
export function fenced(info: string, text: string): string[] {
  const fence = '`'.repeat(Math.max(3, longestBacktickRun(text) + 1));
  return [`${fence}${info}`, text, fence];
}

/** An inline code span the content cannot close (a version or tag an operator typed). */
export function codeSpan(text: string): string {
  const inline = text.replace(LINE_BREAK, ' ');
  const longest = longestBacktickRun(inline);
  const ticks = '`'.repeat(longest + 1);
  return longest ? `${ticks} ${inline} ${ticks}` : `${ticks}${inline}${ticks}`;
}
