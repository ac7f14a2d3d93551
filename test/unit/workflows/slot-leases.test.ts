// The lease rules of the blast-radius slot (blastRadius.scope production), apart from the workflow.
import { describe, test } from 'vitest';
import assert from 'node:assert/strict';
import { firstSlotRequest, grantableLeases, inFlight, serviceHeld } from '../../../src/workflows/slot-leases';

const at = '2026-01-01T00:00:00.000Z';
const q = (workflowId: string, service: string, lease?: true) => ({
  workflowId,
  service,
  requestedAt: at,
  ...(lease ? { lease } : {}),
});
const h = (workflowId: string, service: string, lease?: true) => ({
  workflowId,
  service,
  grantedAt: at,
  ...(lease ? { lease } : {}),
});

describe('slot leases', () => {
  test('a lease is granted when nobody holds its service, in the order asked within a service', () => {
    const queue = [q('p1', 'search', true), q('p2', 'search', true), q('p3', 'payment', true), q('p4', 'mail')];
    assert.deepEqual(
      grantableLeases(queue, []).map((x) => x.workflowId),
      ['p1', 'p3'],
    );
    // A holder of the service, lease or slot, keeps its next promotion queued.
    assert.deepEqual(
      grantableLeases(queue, [h('p0', 'search', true), h('p9', 'payment')]).map((x) => x.workflowId),
      [],
    );
  });

  test('a slot request of a service queued ahead keeps that service’s lease request behind it', () => {
    assert.deepEqual(grantableLeases([q('p1', 'search'), q('p2', 'search', true)], []), []);
  });

  test('leases count against no limit; slot requests are taken first come first served', () => {
    assert.equal(inFlight([h('a', 's1', true), h('b', 's2'), h('c', 's3', true)]), 1);
    assert.equal(firstSlotRequest([q('p1', 's1', true), q('p2', 's2'), q('p3', 's3')])?.workflowId, 'p2');
    assert.equal(firstSlotRequest([q('p1', 's1', true)]), undefined);
    // A lease holder asking for its slot is not blocked by its own lease.
    assert.equal(serviceHeld([h('a', 's1', true)], 's1', 'a'), false);
    assert.equal(serviceHeld([h('a', 's1', true)], 's1', 'b'), true);
  });
});
