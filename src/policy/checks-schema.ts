// Content-check sections of the policy (the change-content rules). Owned by the policy engine.
import { z } from 'zod';

export const checksSchema = z.object({}).passthrough().default({});

export type ChecksPolicy = z.infer<typeof checksSchema>;
