// Canonical base64 only: a signature has exactly one accepted text, so the replay memory (keyed on
// the text) cannot be walked around by re-encoding the same bytes with other padding bits.
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { decodeBase64, encodeBase64 } from '../../../src/approvals/base64';
import { signDecision, verifyDecisionSignature } from '../../../src/approvals/decision-signature';
import { testPublicKey, testSecretKey } from '../../helpers/approver-keys';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Every text that differs from `b64` only in the padding bits of its last data character. */
function paddingVariants(b64: string): string[] {
  const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  const at = b64.length - pad - 1;
  const free = pad === 2 ? 15 : 3;
  const base = ALPHABET.indexOf(b64[at]) & ~free;
  return Array.from({ length: free + 1 }, (_, bits) => b64.slice(0, at) + ALPHABET[base | bits] + b64.slice(at + 1));
}

describe('decodeBase64', () => {
  test('round-trips every length, and Node agrees', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
      const text = encodeBase64(bytes);
      assert.equal(text, Buffer.from(bytes).toString('base64'));
      assert.deepEqual(decodeBase64(text), bytes);
    }
  });

  test('non-canonical padding bits are refused: one encoding of a signature passes, not 16', () => {
    const [approver, via, at, nonce] = ['alice', 'cli', '2026-11-27T00:00:00.000Z', 'nonce-0'];
    const claim = {
      workflowId: `promotion-svc-${'b'.repeat(40)}`,
      action: 'approve' as const,
      approver,
      via,
      at,
      nonce,
    };
    const sig = signDecision(claim, testSecretKey('alice')).value;
    assert.ok(sig.endsWith('==')); // 64 bytes: 4 free bits in the last character
    const variants = paddingVariants(sig);
    assert.equal(variants.length, 16);
    // Node's lenient decoder reads all 16 as the same bytes: the attack the check closes.
    for (const v of variants) assert.deepEqual(Buffer.from(v, 'base64'), Buffer.from(sig, 'base64'));
    const passing = variants.filter((v) => verifyDecisionSignature(claim, v, testPublicKey('alice')));
    assert.deepEqual(passing, [sig]);
    assert.deepEqual(
      variants.filter((v) => decodeBase64(v) !== undefined),
      [sig],
    );
  });

  test('one `=`: 4 encodings of the same bytes, only the canonical one decodes', () => {
    const text = encodeBase64(Uint8Array.from([1, 2, 3, 4, 5]));
    assert.ok(text.endsWith('=') && !text.endsWith('=='));
    assert.deepEqual(
      paddingVariants(text).filter((v) => decodeBase64(v) !== undefined),
      [text],
    );
  });

  test('other malformed texts stay refused', () => {
    for (const bad of ['A', 'AA=', 'A===', '=AAA', 'AA=A', 'AAA ', 'AA-_', 'AAAA\n'])
      assert.equal(decodeBase64(bad), undefined, bad);
  });
});
