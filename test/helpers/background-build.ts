// The Go builds scripts/setup.sh runs in the background (Kubernetes control plane, kustomize, Helm,
// OpenTofu): tests that need one of those binaries wait here for the job to finish first.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT } from './tools';

const INSTALL_STATUS = resolve(REPO_ROOT, '.tools/kubernetes/.background-status');
const INSTALL_LOG = resolve(REPO_ROOT, '.tools/kubernetes/install.log');

/** Waits for the background build scripts/setup.sh started, if one is under way; throws its log if it failed. */
export async function backgroundBuildDone(timeoutMs = 40 * 60_000): Promise<void> {
  if (!existsSync(INSTALL_LOG) && !existsSync(INSTALL_STATUS)) return;
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(INSTALL_STATUS)) {
    if (Date.now() > deadline)
      throw new Error(
        `the background build (Kubernetes, kustomize, Helm, OpenTofu) is still running after ${timeoutMs / 60_000} min; see ${INSTALL_LOG}`,
      );
    await new Promise((r) => setTimeout(r, 2000));
  }
  const status = readFileSync(INSTALL_STATUS, 'utf8').trim();
  if (status !== '0') {
    const tail = existsSync(INSTALL_LOG) ? readFileSync(INSTALL_LOG, 'utf8').split('\n').slice(-30).join('\n') : '';
    throw new Error(`the background build of scripts/setup.sh failed (exit ${status}):\n${tail}`);
  }
}
