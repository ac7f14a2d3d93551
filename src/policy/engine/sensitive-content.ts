// Detects the sensitive categories of a file from its content (kinds, resource types, plain-text
// credentials). Each hit says why, and where when it can.
import type { SensitiveCategory } from '../config/checks-schema';
import { getIn, type ManifestDoc } from './manifest';
import { blockLine, resourcesOf, type TerraformJson } from './terraform-file';
import { containersOf, workloadLabel } from './workload';

export interface SensitiveHit {
  category: SensitiveCategory;
  reason: string;
  line?: number;
}

const SECRET_KINDS = new Set(['Secret', 'SealedSecret', 'ExternalSecret']);
const NETWORK_KINDS = new Set([
  'Ingress',
  'IngressClass',
  'NetworkPolicy',
  'Gateway',
  'VirtualService',
  // Istio: egress to outside the mesh, what a proxy may reach, raw proxy config, who may call whom.
  'ServiceEntry',
  'Sidecar',
  'EnvoyFilter',
  'AuthorizationPolicy',
  // Gateway API: lets a route attach to a backend in another namespace.
  'ReferenceGrant',
]);
// Gateway API routes (HTTPRoute, GRPCRoute, TCPRoute, TLSRoute, UDPRoute and any later *Route).
const GATEWAY_API_GROUP = 'gateway.networking.k8s.io/';
const ROUTE_KINDS = new Set(['HTTPRoute', 'GRPCRoute', 'TCPRoute', 'TLSRoute', 'UDPRoute']);

function isNetworkKind(doc: ManifestDoc): boolean {
  if (!doc.kind) return false;
  if (NETWORK_KINDS.has(doc.kind) || ROUTE_KINDS.has(doc.kind)) return true;
  const apiVersion = getIn(doc.value, ['apiVersion']);
  return typeof apiVersion === 'string' && apiVersion.startsWith(GATEWAY_API_GROUP) && doc.kind.endsWith('Route');
}

// Terraform resource types are provider_thing names; these fragments name what they manage.
const SECRET_TYPES = ['secret', 'kms_', 'iam_access_key', 'vault_', 'credential', 'private_key', 'ssm_parameter'];
const NETWORK_TYPES = [
  'security_group',
  'firewall',
  'network_security',
  'network_acl',
  'nat_gateway',
  '_route',
  'vpc_peering',
  'lb_listener',
  'ingress',
  'dns_record',
  'route53_record',
  'subnet',
];
const DATABASE_TYPES = [
  'db_instance',
  'db_',
  'rds_',
  'database',
  'sql',
  'dynamodb',
  'docdb',
  'redshift',
  'elasticache',
  'neptune',
  'spanner',
  'bigtable',
  'cosmosdb',
  'mongodb',
  'postgres',
  'mysql',
  '_index',
];

// Names of settings that hold credentials; a literal value in one of them is a leaked secret.
const CREDENTIAL_NAME = /(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential|auth[_-]?key)$/i;
// Tokens that are credentials wherever they appear.
const CREDENTIAL_TEXT: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a PEM private key'],
  [/\bAKIA[0-9A-Z]{16}\b/, 'an AWS access key id'],
  [/\bgh[pousr]_[A-Za-z0-9]{36}\b/, 'a GitHub token'],
  [/\bxox[baprs]-[A-Za-z0-9-]{10,}/, 'a Slack token'],
];
const SQL_INDEX = /\bCREATE\s+(UNIQUE\s+)?INDEX\b/i;
const MIGRATION_PATH = /(^|\/)(migrations?|migrate|db\/schema)\//i;

function firstLineOf(text: string, pattern: RegExp): number | undefined {
  const i = text.split('\n').findIndex((l) => pattern.test(l));
  return i >= 0 ? i + 1 : undefined;
}

export function textHits(path: string, text: string): SensitiveHit[] {
  const hits: SensitiveHit[] = [];
  for (const [pattern, what] of CREDENTIAL_TEXT) {
    if (pattern.test(text))
      hits.push({ category: 'secrets', reason: `contains ${what} in plain text`, line: firstLineOf(text, pattern) });
  }
  if (MIGRATION_PATH.test(path) || path.toLowerCase().endsWith('.sql'))
    hits.push({ category: 'database', reason: 'is a database migration or SQL file' });
  return hits;
}

export function manifestHits(doc: ManifestDoc): SensitiveHit[] {
  const hits: SensitiveHit[] = [];
  const label = workloadLabel(doc);
  if (doc.kind && SECRET_KINDS.has(doc.kind))
    hits.push({ category: 'secrets', reason: `declares ${label}`, line: doc.line(['kind']) });
  if (isNetworkKind(doc)) hits.push({ category: 'networking', reason: `declares ${label}`, line: doc.line(['kind']) });
  if (doc.kind === 'Service' && getIn(doc.value, ['spec', 'type']) === 'LoadBalancer') {
    hits.push({
      category: 'networking',
      reason: `${label} is type LoadBalancer (exposed outside the cluster)`,
      line: doc.line(['spec', 'type']),
    });
  }
  for (const c of containersOf(doc)) {
    const env = getIn(c.value, ['env']);
    if (!Array.isArray(env)) continue;
    env.forEach((e, i) => {
      const name = getIn(e, ['name']);
      const value = getIn(e, ['value']);
      if (typeof name === 'string' && CREDENTIAL_NAME.test(name) && typeof value === 'string' && value !== '') {
        hits.push({
          category: 'secrets',
          reason: `container "${c.name}" of ${label} sets ${name} to a literal value instead of a secretKeyRef`,
          line: doc.line([...c.path, 'env', i, 'value']),
        });
      }
    });
  }
  return hits;
}

/** Literal strings assigned to credential-named attributes anywhere in a resource body. */
function literalCredentials(body: unknown, found: string[] = []): string[] {
  if (Array.isArray(body)) body.forEach((b) => literalCredentials(b, found));
  else if (body && typeof body === 'object') {
    for (const [key, value] of Object.entries(body)) {
      // "${...}" is an expression (a variable or data source), not a literal.
      if (CREDENTIAL_NAME.test(key) && typeof value === 'string' && value !== '' && !value.includes('${'))
        found.push(key);
      else literalCredentials(value, found);
    }
  }
  return found;
}

function containsSqlIndex(body: unknown): boolean {
  if (typeof body === 'string') return SQL_INDEX.test(body);
  if (Array.isArray(body)) return body.some(containsSqlIndex);
  if (body && typeof body === 'object') return Object.values(body).some(containsSqlIndex);
  return false;
}

export function terraformHits(json: TerraformJson, text: string): SensitiveHit[] {
  const hits: SensitiveHit[] = [];
  for (const { type, name, body } of resourcesOf(json)) {
    const line = blockLine(text, 'resource', [type, name]);
    const id = `resource ${type}.${name}`;
    if (SECRET_TYPES.some((t) => type.includes(t))) hits.push({ category: 'secrets', reason: `manages ${id}`, line });
    if (NETWORK_TYPES.some((t) => type.includes(t)))
      hits.push({ category: 'networking', reason: `manages ${id}`, line });
    if (DATABASE_TYPES.some((t) => type.includes(t)))
      hits.push({ category: 'database', reason: `manages ${id}`, line });
    else if (containsSqlIndex(body)) hits.push({ category: 'database', reason: `${id} runs CREATE INDEX`, line });
    for (const key of literalCredentials(body)) {
      hits.push({ category: 'secrets', reason: `${id} sets ${key} to a literal value in plain text`, line });
    }
  }
  return hits;
}
