// Follow-ups to a Slack interaction go to its response_url (valid 30 min, 5 uses), only to Slack's
// own host (or the configured API base in tests): a verified request still chooses no other host.
// The URL is parsed and compared by scheme and origin (a string prefix lets `https://hooks.slack.com.evil.tld/`
// through when the configured base lacks its slash).
export interface SlackPoster {
  /** Why `responseUrl` is not one this poster sends to, or undefined when it is. */
  refuses(responseUrl: string): string | undefined;
  respond(responseUrl: string, message: Record<string, unknown>): Promise<void>;
}

export const SLACK_RESPONSE_BASE = 'https://hooks.slack.com/';

/**
 * `allowed`: base URLs. A response_url passes when its origin (scheme, host, port) equals a base's
 * and its path lies under the base's path; https only, unless a base itself is http (a local fake).
 */
export function responseUrlRefusal(responseUrl: string, allowed: readonly string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(responseUrl);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  const ok = allowed.some((base) => {
    const b = new URL(base);
    const dir = b.pathname.endsWith('/') ? b.pathname : `${b.pathname}/`;
    return url.protocol === b.protocol && url.origin === b.origin && url.pathname.startsWith(dir);
  });
  if (ok) return undefined;
  if (url.protocol !== 'https:') return `must be https (got ${url.protocol})`;
  return `must be a Slack URL under ${allowed.join(' or ')}`;
}

export function createSlackPoster(allowed: string[] = [SLACK_RESPONSE_BASE]): SlackPoster {
  for (const base of allowed) new URL(base); // a bad base is a configuration error, at start-up
  const refuses = (responseUrl: string) => responseUrlRefusal(responseUrl, allowed);
  return {
    refuses,
    async respond(responseUrl, message) {
      const why = refuses(responseUrl);
      if (why) throw new Error(`slack: response_url ${responseUrl} refused: ${why}`);
      const res = await fetch(responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
        redirect: 'error', // a redirect would leave the checked origin
      });
      if (!res.ok) throw new Error(`slack: response_url answered ${res.status}`);
    },
  };
}
