// Untrusted text in the check run's Markdown (src/integrations/github/markdown.ts): a title, path
// or reason written by the agent shows as typed; it never pings a team, links, loads an image or
// escapes a code block.
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { codeSpan, escapeMarkdown, fenced } from '../../../../src/integrations/github/markdown';
import { checkRunSummary } from '../../../../src/integrations/github/github-reporter';
import { initialState } from '../../../../src/workflows/promotion/initial-state';

describe('GitHub Markdown escaping', () => {
  test('mentions, links, images, HTML and emphasis are escaped; line breaks cannot start a heading', () => {
    assert.equal(escapeMarkdown('@org/sre-team'), '\\@org/sre-team');
    assert.equal(escapeMarkdown('[ok](https://evil.example)'), '\\[ok\\](https://evil.example)');
    assert.equal(escapeMarkdown('![x](https://evil.example/p.png)'), '!\\[x\\](https://evil.example/p.png)');
    assert.equal(escapeMarkdown('<img src=x>'), '\\<img src=x\\>');
    assert.equal(escapeMarkdown('&#64;team'), '\\&#64;team');
    assert.equal(escapeMarkdown('**bold** ~x~'), '\\*\\*bold\\*\\* \\~x\\~');
    assert.equal(escapeMarkdown('path\n# Approved by SRE'), 'path # Approved by SRE');
    assert.equal(
      escapeMarkdown('k8s/base/my_app (v2).yaml'),
      'k8s/base/my_app (v2).yaml',
      'ordinary paths stay readable',
    );
  });

  test('a fence or span is longer than any backtick run inside it', () => {
    assert.deepEqual(fenced('diff', '+ a'), ['```diff', '+ a', '```']);
    assert.deepEqual(fenced('diff', '```\n@here'), ['````diff', '```\n@here', '````']);
    assert.equal(codeSpan('v1.2'), '`v1.2`');
    assert.equal(codeSpan('a`b'), '`` a`b ``');
  });

  test('the check run summary escapes a finding message written by the change and fences its diff', () => {
    const s = {
      ...initialState('promotion-x', { service: 'svc', commit: 'a'.repeat(40), version: 'v`1', author: 'bot' }, ''),
      stage: 'awaiting_approval' as const,
      findings: [
        { rule: 'forbidden-path', level: 'block' as const, message: 'k8s/@org/admins [x](https://e.example)' },
      ],
      productionChange: { text: '```\n# not a heading\n@org/admins', digest: 'sha256:1', notes: ['<!-- hide -->'] },
    };
    const text = checkRunSummary(s);
    assert.match(text, /- block: forbidden-path: k8s\/\\@org\/admins \\\[x\\\]\(https:\/\/e\.example\)/);
    assert.match(text, /- :warning: \\<!-- hide --\\>/);
    assert.match(text, /\n````diff\n```\n# not a heading\n@org\/admins\n````\n/);
    assert.match(text, /— svc `` v`1 ``/);
    // Nothing unescaped outside code: every @ in the text is escaped or inside the fence.
    const outsideFence = text.replace(/````diff[\s\S]*?````/, '');
    assert.doesNotMatch(outsideFence, /(^|[^\\])@/);
  });
});
