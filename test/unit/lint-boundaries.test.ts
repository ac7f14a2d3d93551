// The layer rules of eslint.config.mjs refuse imports that run back up, and allow those that go down.
import { describe, expect, test } from 'vitest';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

async function lint(filePath: string, code: string): Promise<string[]> {
  // A computed specifier: the config is plain JavaScript with no type declarations.
  const configPath = '../../eslint.config.mjs';
  const { boundaryConfigs } = (await import(configPath)) as { boundaryConfigs: object[] };
  const eslint = new ESLint({
    cwd: process.cwd(),
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...boundaryConfigs],
  });
  const [result] = await eslint.lintText(code, { filePath });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('layer boundaries', () => {
  test('the server may not import the CLI (nor the CLI the server)', async () => {
    const server = await lint('src/server/probe.ts', "import { status } from '../cli/status';\n");
    expect(server).toHaveLength(1);
    expect(server[0]).toMatch(/no-restricted-imports.*server and cli never import each other/);
    const cli = await lint('src/cli/probe.ts', "import { createServer } from '../server/app';\n");
    expect(cli[0]).toMatch(/cli and server never import each other/);
  });
  test('integrations may not reach up into activities, server or workflow values', async () => {
    expect(
      await lint(
        'src/integrations/kubernetes/probe.ts',
        "import { createDeployActivities } from '../../activities/deploy';\n",
      ),
    ).toHaveLength(1);
    expect(
      await lint('src/integrations/slack/probe.ts', "import { promotion } from '../../workflows/promotion';\n"),
    ).toHaveLength(1);
    expect(
      await lint(
        'src/integrations/slack/probe.ts',
        "import type { PromotionState } from '../../workflows/messages';\n",
      ),
    ).toEqual([]);
  });
  test('imports that go down are allowed', async () => {
    expect(await lint('src/server/probe.ts', "import { readPromotion } from '../client/promotion-view';\n")).toEqual(
      [],
    );
    expect(
      await lint(
        'src/cli/probe.ts',
        "import { renderView } from '../client/render-status';\nimport { formatRise } from '../common/format';\n",
      ),
    ).toEqual([]);
    // "client" is not "cli": the pattern matches whole folder names.
    expect(await lint('src/server/probe.ts', "import { x } from '../client/cli-like';\n")).toEqual([]);
  });
});
