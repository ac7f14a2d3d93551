// Follow-ups to a Slack interaction go to its response_url (valid 30 min, 5 uses), only to Slack's
// own hosts (or the configured API base in tests): a verified request still chooses no other host.
export interface SlackPoster {
  respond(responseUrl: string, message: Record<string, unknown>): Promise<void>;
}

export function createSlackPoster(allowedPrefixes: string[] = ['https://hooks.slack.com/']): SlackPoster {
  return {
    async respond(responseUrl, message) {
      if (!allowedPrefixes.some((p) => responseUrl.startsWith(p)))
        throw new Error(`slack: response_url ${responseUrl} is not a Slack URL`);
      const res = await fetch(responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
      });
      if (!res.ok) throw new Error(`slack: response_url answered ${res.status}`);
    },
  };
}
