// Benchmark: the YAML alias bomb (issue 15). A ~1 KB manifest whose liveness probe holds a tree of
// anchors, each a list of two aliases of the one before, expands to 2^depth leaves. The engine
// must refuse it (unparseable: too many aliases) in about the time it takes to check an ordinary
// manifest of the same size, at every depth. Printed per depth 12..30: the time to check the bomb
// beside the floor (the same change with an ordinary manifest of the same byte length), as a ratio,
// and for depths up to 21 what the old code paid (JSON.stringify of the expanded probe, which the
// liveness rule did). Run alone: npx tsx bench/alias-bomb.ts; `npm run bench -- --only alias-bomb`.
import { performance } from 'node:perf_hooks';
import { CORE_SCHEMA, load } from 'js-yaml';
import { checkChange } from '../src/policy/engine/check-change';
import type { FileTree } from '../src/policy/engine/change-files';
import { parsePolicy } from '../src/policy/config/load';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { percentile } from './lib/stats';

export const DEPTHS = [12, 15, 18, 21, 24, 27, 30];
/** Above this depth the old cost (0.85 s at 21, ×8 per 3 levels) is not measured: it would run for minutes. */
const OLD_COST_MAX_DEPTH = 21;
const PATH = 'k8s/staging/notification-service/deployment.yaml';

const deployment = (probe: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: notification-service }
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example.com/notification-service:1.0.0
          livenessProbe:
            httpGet: { path: /health, port: 8080 }
            failureThreshold: 1
${probe}`;

/** The bomb: `x0` anchors two strings, every `xN` is a list of two aliases of `x(N-1)`. */
export function aliasBomb(depth: number): string {
  const lines = ['            x0: &a0 [lol, lol]'];
  for (let d = 1; d <= depth; d++) lines.push(`            x${d}: &a${d} [*a${d - 1}, *a${d - 1}]`);
  return deployment(lines.join('\n') + '\n');
}

/** An ordinary manifest of exactly `bytes` bytes: the same Deployment, padded with a plain list. */
export function ordinaryManifest(bytes: number): string {
  const head = deployment('            x: [');
  const items: string[] = [];
  while (`${head}${items.join(', ')}]\n`.length < bytes) items.push('lol');
  return `${head}${items.join(', ')}]\n`.padEnd(bytes, ' ');
}

function memoryTree(files: Record<string, string>): FileTree {
  return {
    paths: () => Object.keys(files),
    size: (p) => Buffer.byteLength(files[p] ?? ''),
    read: async (paths) => new Map(paths.filter((p) => p in files).map((p) => [p, files[p]] as const)),
  };
}

export interface AliasBombRow {
  depth: number;
  bytes: number;
  bombMs: number;
  ordinaryMs: number;
  /** The finding the engine gave the bomb (expected: unparseable). */
  rule: string;
  /** JSON.stringify of the expanded probe, what the liveness rule did before (depths ≤ 21). */
  oldStringifyMs?: number;
}

export interface AliasBombResult {
  runs: number;
  rows: AliasBombRow[];
}

export async function benchAliasBomb(runs = 9, depths = DEPTHS): Promise<AliasBombResult> {
  const { policy } = parsePolicy(readFileSync(join(__dirname, '../policy/airlock.policy.yaml'), 'utf8'));
  const base = memoryTree({ [PATH]: deployment('') });
  const check = (text: string) => checkChange(policy, { base, head: memoryTree({ [PATH]: text }) });
  await check(ordinaryManifest(1000)); // warm-up: module loading is not a per-change cost
  const rows: AliasBombRow[] = [];
  for (const depth of depths) {
    const bomb = aliasBomb(depth);
    const ordinary = ordinaryManifest(bomb.length);
    const bombMs: number[] = [];
    const ordinaryMs: number[] = [];
    let rule = '';
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      const findings = await check(bomb);
      bombMs.push(performance.now() - t);
      rule = findings.find((f) => f.level === 'block')?.rule ?? 'none';
      t = performance.now();
      await check(ordinary);
      ordinaryMs.push(performance.now() - t);
    }
    const row: AliasBombRow = {
      depth,
      bytes: bomb.length,
      bombMs: percentile(bombMs, 50),
      ordinaryMs: percentile(ordinaryMs, 50),
      rule,
    };
    if (depth <= OLD_COST_MAX_DEPTH) {
      const t = performance.now();
      JSON.stringify(load(bomb, { schema: CORE_SCHEMA }));
      row.oldStringifyMs = performance.now() - t;
    }
    rows.push(row);
  }
  return { runs, rows };
}

export function renderAliasBomb(r: AliasBombResult): string {
  const lines = [
    `alias bomb vs an ordinary manifest of the same size, median of ${r.runs} runs each (checkChange, shipped policy)`,
    '| depth | bytes | bomb refused | ordinary checked | ratio | finding | before: JSON.stringify of the expanded probe |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of r.rows)
    lines.push(
      `| ${row.depth} | ${row.bytes} | ${row.bombMs.toFixed(2)} ms | ${row.ordinaryMs.toFixed(2)} ms | ${(row.bombMs / row.ordinaryMs).toFixed(2)}× | ${row.rule} | ${row.oldStringifyMs === undefined ? 'not run (minutes)' : `${row.oldStringifyMs.toFixed(1)} ms`} |`,
    );
  return lines.join('\n');
}

if (require.main === module) {
  benchAliasBomb()
    .then((r) => console.log(renderAliasBomb(r)))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
