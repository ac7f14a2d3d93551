// Slack mrkdwn treats `<…>` as links and mentions (`<!channel>`, `<https://x|click>`) and `&` as an
// entity: every untrusted string (PR titles, paths, reasons, user text) is escaped before it is
// placed in mrkdwn, so it shows as typed and never pings, links or breaks the message.
// https://api.slack.com/reference/surfaces/formatting#escaping
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
