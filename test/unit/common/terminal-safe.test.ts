// Untrusted text reaches the terminal only as visible escapes: an ANSI title cannot recolour,
// clear or rewrite the CLI's output, and JSON output stays parseable.
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { terminalSafe, terminalSafeIo } from '../../../src/common/terminal-safe';
import { runCli } from '../../../src/cli/main';

const ANSI_TITLE = 'fix: \u001b[2J\u001b[31mAPPROVED\u001b[0m\rall good\u0007 \u202Egnp.exe\u009b31m';

describe('terminalSafe', () => {
  test('control characters, ANSI sequences and bidi overrides become visible escapes; newlines and tabs stay', () => {
    const out = terminalSafe(`${ANSI_TITLE}\n\tnext line`);
    assert.doesNotMatch(out, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    assert.equal(
      out,
      'fix: \\u001b[2J\\u001b[31mAPPROVED\\u001b[0m\\u000dall good\\u0007 \\u202egnp.exe\\u009b31m\n\tnext line',
    );
    assert.equal(terminalSafe('plain text, ünïcödé, 日本語 ✓'), 'plain text, ünïcödé, 日本語 ✓');
  });

  test('JSON stays valid and reads back as the original text', () => {
    const json = terminalSafe(JSON.stringify({ title: ANSI_TITLE }));
    assert.equal(JSON.parse(json).title, ANSI_TITLE);
    assert.doesNotMatch(json, /\u001b|\u202e|\u009b/);
  });

  test('the CLI writes everything through it: an ANSI file name in an error is printed escaped', async () => {
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
    const code = await runCli(['\u001b[2Jdeploy'], io); // commander names the unknown command
    assert.notEqual(code, 0);
    assert.ok(lines.length > 0);
    for (const l of lines) assert.doesNotMatch(l, /\u001b/, l);
    assert.ok(
      lines.some((l) => l.includes('\\u001b[2J')),
      lines.join('\n'),
    );
    // And the helper itself wraps both writers.
    const got: string[] = [];
    const safe = terminalSafeIo({ out: (t: string) => got.push(t), err: (t: string) => got.push(t) });
    safe.out('\u001b[31m');
    safe.err('\u0007');
    assert.deepEqual(got, ['\\u001b[31m', '\\u0007']);
  });
});
