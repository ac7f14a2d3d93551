// Slack reporter: posts the Block Kit approval request when a promotion starts awaiting approval,
// and updates that message at every later report (approvals so far, then the outcome).
// The message ts is remembered per workflow in this worker's memory; after a worker restart the
// next report posts a fresh message instead of updating the old one (a duplicate, never a loss).
import type { WebClient } from '@slack/web-api';
import { approvalBlocks } from './approval-blocks';
import type { Reporter } from '../reporter';

export function createSlackNotifier(web: WebClient, channel: string): Reporter {
  const posted = new Map<string, { channel: string; ts: string }>();
  return {
    name: 'slack',
    async report(s) {
      const known = posted.get(s.workflowId);
      // Slack is asked only when a human is needed: an approval, or waivers of a blocked change.
      if (!known && s.stage !== 'awaiting_approval' && s.stage !== 'awaiting_waiver') return;
      const message = approvalBlocks(s);
      if (known) {
        await web.chat.update({
          channel: known.channel,
          ts: known.ts,
          text: message.text,
          blocks: message.blocks as never,
        });
        if (s.stage === 'ended') posted.delete(s.workflowId);
        return;
      }
      const r = await web.chat.postMessage({ channel, text: message.text, blocks: message.blocks as never });
      if (r.ts && r.channel) posted.set(s.workflowId, { channel: r.channel, ts: r.ts });
    },
  };
}
