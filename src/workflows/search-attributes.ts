// Custom search attributes shown in the Temporal Web UI and used by `airlock list` / `report`.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const serviceKey = defineSearchAttributeKey('AirlockService', SearchAttributeType.KEYWORD);
export const stageKey = defineSearchAttributeKey('AirlockStage', SearchAttributeType.KEYWORD);
export const commitKey = defineSearchAttributeKey('AirlockCommit', SearchAttributeType.KEYWORD);
export const outcomeKey = defineSearchAttributeKey('AirlockOutcome', SearchAttributeType.KEYWORD);

export const AIRLOCK_SEARCH_ATTRIBUTES = [serviceKey, stageKey, commitKey, outcomeKey];
