// A deploy target that exists only in this process (optionally mirrored to a JSON file so it
// survives a worker restart). It models stable and canary versions and replicas per environment,
// and says in every result that it is a simulation. The embedded default when no cluster is set.
//
// A mutating call takes effect when its rollout is ready (after `rolloutMs`): only then is the new
// state recorded in the model and the state file. Cancellation (DeployCallOptions.signal): aborted
// before the call starts, nothing is recorded at all (not even in `operations`); aborted during
// the rollout, the wait ends at once, the operation is logged `cancelled` and the model keeps the
// state from before the call; either way the call rejects with the abort reason. (A real cluster
// may keep an apply that was sent before the abort; the workflow restores after a cancelled
// deploy either way, so both are safe.)
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Environment } from '../../workflows/messages';
import type { Deployer, DeployResult, EnvironmentSnapshot, StagedImage, WorkloadState } from '../deployer';
import { sleep, throwIfAborted } from '../cancellation';

interface ServiceModel {
  stable: WorkloadState | null;
  canary: WorkloadState | null;
}

export type DeployOperation = 'deploy' | 'deployCanary' | 'promote' | 'restore';

export interface SimulatedDeployerOptions {
  /** Replicas a service starts with when the simulation first sees it. */
  initialReplicas?: number;
  /** Version a service runs when the simulation first sees it. */
  initialVersion?: string;
  /** Mirror the model here (JSON), so a restarted worker sees what was deployed. */
  stateFile?: string;
  /**
   * Append every mutating call here as JSON lines, `started` then `ready` (or `cancelled`), across
   * worker restarts (defaults to `<stateFile>.operations.jsonl`): fault tests assert "nothing
   * deployed twice" on it.
   */
  operationLogFile?: string;
  /** Milliseconds each rollout takes to become ready. */
  rolloutMs?: number;
  /** Fault injection for tests: return an Error to make an operation fail. */
  fault?: (op: DeployOperation, environment: Environment, version: string) => Error | undefined;
  now?: () => Date;
  /**
   * The digest a registry serves for a version now (sha256:…), what the simulated pods report
   * after a deploy. Unset (the simulation has no registry): no digest is ever reported, and the
   * canary and production receive the mutable version.
   */
  registry?: (version: string) => string | undefined;
}

/** What the simulated pods report after a deploy of `version`. */
function reportedImage(version: string, registry: SimulatedDeployerOptions['registry']): StagedImage {
  const digest = registry?.(version);
  return digest
    ? { reference: version, containers: [], digest }
    : { reference: version, containers: [], unpinned: 'the simulation has no registry: no digest reported' };
}

/** `version` at the digest staging ran it, when it did (else undefined: the mutable version). */
function atStagedDigest(version: string, images: StagedImage[] | undefined): string | undefined {
  const digest = images?.find((i) => i.reference === version)?.digest;
  return digest ? `${version}@${digest}` : undefined;
}

export interface SimulatedDeployer extends Deployer {
  /** Read-only view of the model, for tests, the demo and `airlock status`. */
  view(service: string, environment: Environment): ServiceModel;
  /** Every mutating call, in order: tests assert "nothing deployed twice" on it. */
  readonly operations: Array<{
    op: DeployOperation;
    service: string;
    environment: Environment;
    version: string;
    /** What the canary or the rollout deployed: the version at staging's digest, or the version. */
    image?: string;
  }>;
}

export function createSimulatedDeployer(opts: SimulatedDeployerOptions = {}): SimulatedDeployer {
  const now = opts.now ?? (() => new Date());
  const initialReplicas = opts.initialReplicas ?? 4;
  const model: Record<string, ServiceModel> =
    opts.stateFile && existsSync(opts.stateFile) ? JSON.parse(readFileSync(opts.stateFile, 'utf8')) : {};
  const operations: SimulatedDeployer['operations'] = [];
  const operationLog = opts.operationLogFile ?? (opts.stateFile ? `${opts.stateFile}.operations.jsonl` : undefined);
  const logOperation = (entry: SimulatedDeployer['operations'][number], phase: 'started' | 'ready' | 'cancelled') => {
    if (operationLog)
      appendFileSync(
        operationLog,
        `${JSON.stringify({ ...entry, phase, at: now().toISOString(), pid: process.pid })}\n`,
      );
  };

  const key = (service: string, env: Environment) => `${env}/${service}`;
  const get = (service: string, env: Environment): ServiceModel =>
    (model[key(service, env)] ??= {
      stable: { version: opts.initialVersion ?? 'initial', replicas: initialReplicas },
      canary: null,
    });
  const persist = () => {
    if (!opts.stateFile) return;
    writeFileSync(`${opts.stateFile}.tmp`, JSON.stringify(model, null, 2));
    renameSync(`${opts.stateFile}.tmp`, opts.stateFile);
  };
  /** Runs one mutating call: `apply` changes the model once the rollout is ready, not before. */
  const rollout = async (
    op: DeployOperation,
    service: string,
    environment: Environment,
    version: string,
    what: string,
    apply: (m: ServiceModel) => void,
    signal: AbortSignal | undefined,
    image?: string,
  ): Promise<DeployResult> => {
    throwIfAborted(signal);
    const fault = opts.fault?.(op, environment, version);
    if (fault) throw fault;
    const entry = { op, service, environment, version, ...(image ? { image } : {}) };
    operations.push(entry);
    logOperation(entry, 'started');
    if (opts.rolloutMs) {
      try {
        await sleep(opts.rolloutMs, signal);
      } catch (err) {
        logOperation(entry, 'cancelled');
        throw err;
      }
    }
    apply(get(service, environment));
    persist();
    logOperation(entry, 'ready');
    return { readyAt: now().toISOString(), summary: `[simulated] ${what}` };
  };

  return {
    kind: 'simulated',
    operations,
    view: (service, environment) => structuredClone(get(service, environment)),
    async snapshot(service, environment, { signal } = {}): Promise<EnvironmentSnapshot> {
      throwIfAborted(signal);
      const m = get(service, environment);
      persist();
      return { service, environment, ...structuredClone(m), capturedAt: now().toISOString(), deployer: 'simulated' };
    },
    async deploy({ service, environment, version }, { signal } = {}) {
      const result = await rollout(
        'deploy',
        service,
        environment,
        version,
        `${service} ${version} on all of ${environment}`,
        (m) => {
          m.stable = { version, replicas: m.stable?.replicas ?? initialReplicas };
        },
        signal,
      );
      return { ...result, images: [reportedImage(version, opts.registry)] };
    },
    async deployCanary({ service, version, percent, images }, { signal } = {}) {
      const image = atStagedDigest(version, images);
      const m = get(service, 'production');
      // Replica-weighted canary: a share of the stable replica count, never zero.
      const replicas = Math.max(1, Math.round(((m.stable?.replicas ?? initialReplicas) * percent) / 100));
      return rollout(
        'deployCanary',
        service,
        'production',
        version,
        `${service} ${image ?? version} canary: ${replicas} replica(s) beside stable`,
        (ready) => {
          ready.canary = { version, replicas };
        },
        signal,
        image,
      );
    },
    async promote({ service, version, images }, { signal } = {}) {
      const image = atStagedDigest(version, images);
      return rollout(
        'promote',
        service,
        'production',
        version,
        `${service} ${image ?? version} on all of production; canary removed`,
        (m) => {
          m.stable = { version, replicas: m.stable?.replicas ?? initialReplicas };
          m.canary = null;
        },
        signal,
        image,
      );
    },
    async restore(snapshot, { signal } = {}) {
      const v = snapshot.stable?.version ?? '(none)';
      return rollout(
        'restore',
        snapshot.service,
        snapshot.environment,
        v,
        `${snapshot.service} restored to ${v} on ${snapshot.environment}`,
        (m) => {
          m.stable = structuredClone(snapshot.stable);
          m.canary = structuredClone(snapshot.canary);
        },
        signal,
      );
    },
  };
}
