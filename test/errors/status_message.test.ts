import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundedStatusMessage, MAX_STATUS_MESSAGE_BYTES } from '../../src/errors/status_message';

describe('boundedStatusMessage', () => {
  it('leaves a message within the bound as it is', () => {
    const message = 'x'.repeat(MAX_STATUS_MESSAGE_BYTES);
    assert.equal(boundedStatusMessage(message), message);
  });

  it('cuts a longer one to the bound, marked as cut with its full size', () => {
    const cut = boundedStatusMessage(`input x: shape [${'1,'.repeat(10_000)}1]`);
    assert.equal(Buffer.byteLength(cut), MAX_STATUS_MESSAGE_BYTES);
    assert.match(cut, /^input x: shape \[1,1,.*\.\.\. \[message cut: 20018 bytes in all\]$/);
  });

  it('never splits a character: the bound counts UTF-8 bytes', () => {
    for (const filler of ['é', '€', '😀']) {
      const cut = boundedStatusMessage(filler.repeat(MAX_STATUS_MESSAGE_BYTES));
      assert.ok(Buffer.byteLength(cut) <= MAX_STATUS_MESSAGE_BYTES);
      assert.ok(!cut.includes('\uFFFD'), `a split ${filler}`);
      assert.match(cut, new RegExp(`^(${filler})+\\.\\.\\. \\[message cut: \\d+ bytes in all\\]$`, 'u'));
    }
  });
});
