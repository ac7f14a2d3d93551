// Custom search attributes shown in the Temporal Web UI and used by `airlock list` / `report`.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const serviceKey = defineSearchAttributeKey('AirlockService', SearchAttributeType.KEYWORD);
export const stageKey = defineSearchAttributeKey('AirlockStage', SearchAttributeType.KEYWORD);
export const commitKey = defineSearchAttributeKey('AirlockCommit', SearchAttributeType.KEYWORD);
export const outcomeKey = defineSearchAttributeKey('AirlockOutcome', SearchAttributeType.KEYWORD);
/** Place in the blast-radius queue (1 = next); 0 once granted. `AirlockQueuePosition > 0` lists the queue. */
export const queuePositionKey = defineSearchAttributeKey('AirlockQueuePosition', SearchAttributeType.INT);

export const AIRLOCK_SEARCH_ATTRIBUTES = [serviceKey, stageKey, commitKey, outcomeKey, queuePositionKey];
