// The production diff approvers read (state, Slack, Web UI, `airlock diff`) shows no literal env
// value, still shows that a value changed, and its digest still changes with the value.
import { describe, expect, test } from 'vitest';
import { diffSimulatedObjects } from '../../../../src/integrations/simulation/simulated-object-diff';
import { envValuesOf, redactEnvValues } from '../../../../src/integrations/kubernetes/env-redaction';
import type { Json } from '../../../../src/integrations/kubernetes/object-set';

const SECRET = 'postgres://app:s3cr3t-distinctive@db:5432/app';
const deployment = (env: Array<{ name: string; value?: string; valueFrom?: Json }>, init: string = 'x'): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'prod' },
  spec: {
    template: {
      spec: {
        initContainers: [{ name: 'migrate', image: 'm:1', env: [{ name: 'INIT', value: init }] }],
        containers: [{ name: 'app', image: 'web:1', env }],
      },
    },
  },
});

describe('env values in diffs', () => {
  test('a created object: every literal value redacted with its length; valueFrom untouched', () => {
    const after = deployment([
      { name: 'DATABASE_URL', value: SECRET },
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'web', key: 'token' } } },
    ]);
    const { text } = diffSimulatedObjects([], [after]);
    expect(text).not.toContain('s3cr3t');
    expect(text).toContain(`value: "<redacted: ${SECRET.length} chars>"`);
    expect(text).toContain('secretKeyRef');
    expect(text).toContain('value: "<redacted: 1 chars>"'); // init containers too
    expect(after).toEqual(
      deployment([
        { name: 'DATABASE_URL', value: SECRET },
        { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'web', key: 'token' } } },
      ]),
    ); // the object itself (a snapshot's copy) keeps its values
  });

  test('a value changed to another of the same length is still a changed line, and changes the digest', () => {
    const before = deployment([{ name: 'DATABASE_URL', value: SECRET }]);
    const other = SECRET.replace('s3cr3t', 'hunt3r');
    const changed = diffSimulatedObjects([before], [deployment([{ name: 'DATABASE_URL', value: other }])]);
    expect(changed.text).not.toMatch(/s3cr3t|hunt3r/);
    expect(changed.text).toContain(`-${' '.repeat(14)}value: "<redacted: ${SECRET.length} chars>"`);
    expect(changed.text).toContain(`+${' '.repeat(14)}value: "<redacted: ${SECRET.length} chars, changed>"`);
    const again = diffSimulatedObjects([before], [deployment([{ name: 'DATABASE_URL', value: other }])]);
    expect(again.digest).toBe(changed.digest); // the same change, the same digest
    const third = diffSimulatedObjects([before], [deployment([{ name: 'DATABASE_URL', value: `${other}x` }])]);
    expect(third.digest).not.toBe(changed.digest);
    // A value that stays is not marked: only the image changed here.
    const image = deployment([{ name: 'DATABASE_URL', value: SECRET }]);
    ((image.spec as any).template.spec.containers[0] as Json).image = 'web:2';
    const imageOnly = diffSimulatedObjects([before], [image]);
    expect(imageOnly.text).not.toContain('changed>');
    expect(imageOnly.text).toContain('+          image: web:2');
  });

  test('values are matched by container and env name, wherever they sit', () => {
    const o = deployment([{ name: 'A', value: 'one' }], 'two');
    expect([...envValuesOf(o)]).toEqual([
      ['.spec.template.spec.initContainers[migrate].env[INIT]', 'two'],
      ['.spec.template.spec.containers[app].env[A]', 'one'],
    ]);
    const marked = redactEnvValues(deployment([{ name: 'A', value: 'one' }], 'three'), envValuesOf(o)) as any;
    expect(marked.spec.template.spec.initContainers[0].env[0].value).toBe('<redacted: 5 chars, changed>');
    expect(marked.spec.template.spec.containers[0].env[0].value).toBe('<redacted: 3 chars>');
  });
});
