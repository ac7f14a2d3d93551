// The fault rig's dev server registers each search attribute with its own type, as `npm start` and
// docker-compose do. AirlockQueuePosition registered as Keyword failed, at every retry, the workflow
// task of a promotion told its queue position (an Int): CI's SIGKILL run saw B never reach staging.
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { AIRLOCK_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';
import { removeDir, startDevServer, tempDir, type DevServerProcess } from './fault-rig';

const { IndexedValueType } = temporal.api.enums.v1;
let dir: string;
let server: DevServerProcess;
let client: Client;

beforeAll(async () => {
  dir = tempDir('attributes');
  server = await startDevServer(dir);
  client = await server.client();
});
afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

test('every Airlock search attribute is registered with its declared type', async () => {
  const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: 'default' });
  const want = (t: string) =>
    t === SearchAttributeType.INT
      ? IndexedValueType.INDEXED_VALUE_TYPE_INT
      : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  assert.deepEqual(
    Object.fromEntries(AIRLOCK_SEARCH_ATTRIBUTES.map((k) => [k.name, customAttributes?.[k.name]])),
    Object.fromEntries(AIRLOCK_SEARCH_ATTRIBUTES.map((k) => [k.name, want(k.type)])),
  );
});
