// Benchmark: time for the policy engine to check a 1,000-file / ~5 MB change (target < 1 s), next
// to a reference measured in the same run on the same files: read both sides of every changed file
// and YAML-parse the manifests with the engine's parser (js-yaml), the least any content check does.
// The engine also parses the head side of the Terraform files with HashiCorp's HCL parser and runs
// every rule; the ratio shows what that costs on top. Run alone: npx tsx bench/policy-engine.ts;
// `npm run bench` runs it as the "policy" benchmark.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CORE_SCHEMA, loadAll } from 'js-yaml';
import { checkChange } from '../src/policy/engine/check-change';
import { parsePolicy } from '../src/policy/config/load';
import { directoryTree } from '../src/policy/engine/trees/directory-tree';

const FILES = 1000;
const TERRAFORM_FILES = 50;
const TARGET_BYTES = 5 * 1024 * 1024;
const RUNS = 5;

function manifest(i: number, version: string, memory: string, pad: number): string {
  const config = Array.from(
    { length: pad },
    (_, k) => `    key_${k}: "value ${k} of service ${i} — padding that stands for a realistic ConfigMap"`,
  ).join('\n');
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-${i}
  namespace: staging
spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: app
          image: registry.example.com/svc-${i}:${version}
          resources:
            requests: { cpu: 100m, memory: ${memory} }
            limits: { memory: ${memory} }
          livenessProbe:
            httpGet: { path: /health, port: 8080 }
            periodSeconds: 10
            failureThreshold: 5
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: svc-${i}-config
data:
${config}
`;
}

function terraform(i: number, size: string, pad: number): string {
  const tags = Array.from(
    { length: pad },
    (_, k) => `    tag_${k} = "value ${k} of module ${i}, padding for a realistic module"`,
  ).join('\n');
  return `module "net_${i}" {
  source = "../module-${(i + 1) % TERRAFORM_FILES}"
}

resource "aws_s3_bucket" "b_${i}" {
  bucket = "bucket-${i}-${size}"
  tags = {
${tags}
  }
}
`;
}

function writeTree(root: string, version: string, memory: string, size: string): number {
  let bytes = 0;
  const perFile = TARGET_BYTES / FILES;
  for (let i = 0; i < FILES; i++) {
    const tf = i < TERRAFORM_FILES;
    const path = tf
      ? join(root, 'terraform', `module-${i}`, 'main.tf')
      : join(root, 'k8s', 'staging', `svc-${i}`, 'deployment.yaml');
    const lineBytes = tf ? 70 : 95;
    const text = tf
      ? terraform(i, size, Math.round(perFile / lineBytes))
      : manifest(i, version, memory, Math.round(perFile / lineBytes));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    bytes += Buffer.byteLength(text);
  }
  return bytes;
}

/** The reference: read every changed file on both sides and YAML-parse the manifests, nothing else. */
function reference(base: string, head: string, paths: readonly string[]): void {
  for (const root of [base, head]) {
    for (const p of paths) {
      const text = readFileSync(join(root, p), 'utf8');
      if (!p.endsWith('.tf')) loadAll(text, undefined, { schema: CORE_SCHEMA });
    }
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export interface PolicyEngineResult {
  files: number;
  megabytes: number;
  runs: number;
  engineMs: number[];
  referenceMs: number[];
  engineMedianMs: number;
  referenceMedianMs: number;
  findings: number;
}

export async function benchPolicyEngine(runs = RUNS): Promise<PolicyEngineResult> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-'));
  try {
    const base = join(dir, 'base');
    const head = join(dir, 'head');
    writeTree(base, '1.0.0', '512Mi', 'a');
    const bytes = writeTree(head, '1.1.0', '640Mi', 'b');
    const { policy } = parsePolicy(readFileSync(join(__dirname, '../policy/airlock.policy.yaml'), 'utf8'));
    const paths = directoryTree(head).paths();

    // One warm-up each: module loading and the HCL parser's WASM start-up are not per-change costs.
    const findings = await checkChange(policy, { base: directoryTree(base), head: directoryTree(head) });
    reference(base, head, paths);

    const engine: number[] = [];
    const ref: number[] = [];
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      await checkChange(policy, { base: directoryTree(base), head: directoryTree(head) });
      engine.push(performance.now() - t);
      t = performance.now();
      reference(base, head, paths);
      ref.push(performance.now() - t);
    }
    return {
      files: paths.length,
      megabytes: bytes / 1024 / 1024,
      runs,
      engineMs: engine,
      referenceMs: ref,
      engineMedianMs: median(engine),
      referenceMedianMs: median(ref),
      findings: findings.length,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const r = await benchPolicyEngine();
  const { engineMs: engine, referenceMs: ref, engineMedianMs: e, referenceMedianMs: f } = r;
  console.log(
    `change: ${r.files} files changed (${FILES - TERRAFORM_FILES} YAML, ${TERRAFORM_FILES} Terraform), ${r.megabytes.toFixed(2)} MB after`,
  );
  console.log(`findings: ${r.findings}`);
  console.log(
    `engine    (diff + parse + all rules):  median ${e.toFixed(0)} ms of ${r.runs} runs [${engine.map((x) => x.toFixed(0)).join(', ')}]`,
  );
  console.log(
    `reference (read + YAML-parse both):    median ${f.toFixed(0)} ms of ${r.runs} runs [${ref.map((x) => x.toFixed(0)).join(', ')}]`,
  );
  console.log(`ratio engine/reference: ${(e / f).toFixed(2)}; target < 1000 ms: ${e < 1000 ? 'met' : 'MISSED'}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
