// The simulation's "cluster" for rendered services: the Kubernetes objects of each environment,
// held in this process and mirrored to a JSON file (so a restarted worker, the demo and tests see
// what was applied). Objects are stored whole, as written: nothing defaults, mutates or owns
// fields here, so "restored exactly" is plain deep equality.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Environment } from '../../workflows/messages';
import { idKey, idOf, SERVICE_LABEL, type Json, type ObjectId } from '../kubernetes/object-set';

/** environment → idKey → object. */
type StoreState = Partial<Record<Environment, Record<string, Json>>>;

/** One atomic write: objects put whole (created or replaced), identities deleted. */
export interface StoreWrite {
  put: Json[];
  delete: ObjectId[];
}

export interface SimulatedObjectStore {
  /** A copy of the object, or null when the environment does not have it. */
  get(environment: Environment, id: ObjectId): Json | null;
  /** Copies of the objects labelled for `service` (what a prune may remove), in key order. */
  ofService(environment: Environment, service: string): Json[];
  /** Copies of every object of the environment, in key order. */
  all(environment: Environment): Json[];
  /** Applies `w` at once (all or nothing) and mirrors the store to its file. */
  write(environment: Environment, w: StoreWrite): void;
}

const labelOf = (o: Json) => ((o.metadata as Json | undefined)?.labels as Record<string, string> | undefined) ?? {};

/** The store, loaded from `stateFile` when it exists. */
export function createSimulatedObjectStore(opts: { stateFile?: string } = {}): SimulatedObjectStore {
  const state: StoreState =
    opts.stateFile && existsSync(opts.stateFile)
      ? (JSON.parse(readFileSync(opts.stateFile, 'utf8')) as StoreState)
      : {};
  const env = (e: Environment) => (state[e] ??= {});
  const sorted = (e: Environment, keep: (o: Json) => boolean) =>
    Object.keys(env(e))
      .sort()
      .map((k) => env(e)[k])
      .filter(keep)
      .map((o) => structuredClone(o));
  const persist = () => {
    if (!opts.stateFile) return;
    writeFileSync(`${opts.stateFile}.tmp`, JSON.stringify(state, null, 2));
    renameSync(`${opts.stateFile}.tmp`, opts.stateFile);
  };
  return {
    get: (e, id) => structuredClone(env(e)[idKey(id)] ?? null),
    ofService: (e, service) => sorted(e, (o) => labelOf(o)[SERVICE_LABEL] === service),
    all: (e) => sorted(e, () => true),
    write(e, w) {
      const objects = env(e);
      for (const id of w.delete) delete objects[idKey(id)];
      for (const o of w.put) objects[idKey(idOf(o))] = structuredClone(o);
      persist();
    },
  };
}
