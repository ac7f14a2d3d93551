// The codec server protocol's JSON form of payloads: `{ "payloads": [{ "metadata": { key: base64 },
// "data": base64 }] }`, as the Temporal Web UI and CLI send them (proto3 JSON of Payloads).
import { z } from 'zod';
import type { Payload } from '@temporalio/common';

const base64 = z
  .string()
  .max(16 * 1024 * 1024)
  .regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');

export const payloadsBodySchema = z.object({
  payloads: z.array(
    z.object({
      metadata: z.record(z.string(), base64).nullish(),
      data: base64.nullish(),
    }),
  ),
});

export type PayloadsBody = z.infer<typeof payloadsBodySchema>;

export function payloadsFromJson(body: PayloadsBody): Payload[] {
  return body.payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  }));
}

export function payloadsToJson(payloads: Payload[]): PayloadsBody {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
      ),
      data: Buffer.from(p.data ?? []).toString('base64'),
    })),
  };
}
