// Registers Airlock's search attributes on a server that lacks them (self-hosted, test server).
// The dev server started by `npm start` gets them from its --search-attribute flags instead.
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SearchAttributeType } from '@temporalio/common';
import { AIRLOCK_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const { INDEXED_VALUE_TYPE_KEYWORD: keyword, INDEXED_VALUE_TYPE_INT: int } = temporal.api.enums.v1.IndexedValueType;
  const searchAttributes = Object.fromEntries(
    AIRLOCK_SEARCH_ATTRIBUTES.map((k) => [k.name, k.type === SearchAttributeType.INT ? int : keyword]),
  );
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
}
