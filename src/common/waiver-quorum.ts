// Which blocking findings a promotion waits to have waived, which a waiver may name, and when the
// waivers received lift the block: every blocking finding waived by `required` distinct approvers.
// Pure and deterministic: it runs in update validators, in the workflow and in every status view.
import type { Finding } from '../policy/engine/finding';
import type { Waiver } from '../workflows/messages';

const blocking = (findings: readonly Finding[]) => findings.filter((f) => f.level === 'block');

/** The gate blocked and every blocking finding may be waived (all carry an id): wait for waivers. */
export function waitsForWaiver(findings: readonly Finding[]): boolean {
  const blocks = blocking(findings);
  return blocks.length > 0 && blocks.every((f) => f.waivable === true && !!f.id);
}

/** The distinct ids of the blocking findings, in the order the gate reported them. */
export function blockingFindingIds(findings: readonly Finding[]): string[] {
  return [...new Set(blocking(findings).map((f) => f.id ?? f.rule))];
}

/** Why a waiver naming `named` cannot count, or undefined when every id is a waivable blocking finding. */
export function whyFindingsNotWaivable(findings: readonly Finding[], named: readonly string[]): string | undefined {
  if (!named.length) return 'findings: name at least one finding id (airlock status lists them)';
  const byId = new Map(findings.filter((f) => f.id).map((f) => [f.id!, f]));
  for (const id of named) {
    const f = byId.get(id);
    if (!f)
      return `findings: "${id}" is not a finding of this promotion (ids: ${[...byId.keys()].join(', ') || 'none'})`;
    if (f.level !== 'block') return `findings: "${id}" (${f.rule}) is a warning; only blocking findings are waived`;
    if (!f.waivable)
      return `findings: "${id}" (${f.rule}) is not waivable under the policy (checks.waivable); it stays blocked`;
  }
  if (new Set(named).size !== named.length) return 'findings: an id is named twice';
  return undefined;
}

export interface WaiverProgress {
  /** Per blocking finding id: the distinct approvers who waived it. */
  by: Map<string, string[]>;
  /** Blocking findings still short of `required` waivers. */
  waiting: string[];
  complete: boolean;
}

/** How far the waivers received are from lifting the block. */
export function waiverProgress(
  findings: readonly Finding[],
  waivers: ReadonlyArray<Pick<Waiver, 'by' | 'findings'>>,
  required: number,
): WaiverProgress {
  const by = new Map(blockingFindingIds(findings).map((id) => [id, [] as string[]]));
  for (const w of waivers)
    for (const id of w.findings) {
      const who = by.get(id);
      if (who && !who.includes(w.by)) who.push(w.by);
    }
  const waiting = [...by].filter(([, who]) => who.length < required).map(([id]) => id);
  return { by, waiting, complete: by.size > 0 && waiting.length === 0 };
}

/** The named findings `by` has already waived: a second waiver of the same finding by one person is refused. */
export function alreadyWaivedBy(
  waivers: ReadonlyArray<Pick<Waiver, 'by' | 'findings'>>,
  by: string,
  named: readonly string[],
): string[] {
  const mine = new Set(waivers.filter((w) => w.by === by).flatMap((w) => w.findings));
  return named.filter((id) => mine.has(id));
}
