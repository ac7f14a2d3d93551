// A render that cannot succeed as the commit stands: a broken kustomization, a missing values file,
// invalid YAML, a tool that is not installed. Retrying renders the same bytes the same way, so it
// is a DeployRejectedError (the deploy activity turns it into a non-retryable failure); nothing was
// applied when it is thrown.
import { DeployRejectedError } from '../deployer';

export class RenderError extends DeployRejectedError {
  override readonly name = 'RenderError';

  constructor(
    /** The tool that failed or whose output was refused: kustomize, helm, git, manifests. */
    readonly tool: string,
    /** The repo-relative file or directory the message is about. */
    readonly path: string,
    /** Why, in the tool's own words where it said any (trimmed stderr). */
    readonly reason: string,
  ) {
    super(`render: ${tool}: ${path}: ${reason}`);
  }
}
