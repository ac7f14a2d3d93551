// A throwaway infrastructure repository shaped like AI-DEPLOY-012: terraform/modules/shared/database.tf
// used by the terraform/staging and terraform/production roots, with one commit per story step.
// Resources are the built-in terraform_data (no provider download); `input` carries the definition.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface TerraformRepo {
  dir: string;
  /** Commit SHAs by step name. */
  commits: Record<'base' | 'head' | 'destructive' | 'badHcl', string>;
  git(...args: string[]): string;
  remove(): void;
}

const index = (name: string, table: string, columns: string[], extra = '') => `
resource "terraform_data" "${name}" {
  input = { table = "${table}", columns = ${JSON.stringify(columns)}, environment = var.environment }${extra}
}
`;

const BASE_DATABASE = `
variable "environment" { type = string }
variable "instance_class" {
  type    = string
  default = "db.small"
}
resource "terraform_data" "users_table" {
  input = { name = "users", instance_class = var.instance_class, environment = var.environment }
}
${index('index_users_email', 'users', ['email'])}
${index('index_orders_created', 'orders', ['created_at'], '\n  triggers_replace = "v1"')}
`;

// AI-DEPLOY-012: "Add index to improve query performance on users table" (and a changed table).
const HEAD_DATABASE = BASE_DATABASE.replace(
  'name = "users",',
  'name = "users", comment = "slow query AI-DEPLOY-012",',
).concat(index('index_users_last_login', 'users', ['last_login_at']));

// Replaces one resource (its trigger changed) and destroys another (its block removed).
const DESTRUCTIVE_DATABASE = HEAD_DATABASE.replace('triggers_replace = "v1"', 'triggers_replace = "v2"').replace(
  index('index_users_email', 'users', ['email']),
  '',
);

const root = (environment: string, extra = '') => `
variable "instance_class" {
  type    = string
  default = "db.small"
}
module "database" {
  source         = "../modules/shared"
  environment    = "${environment}"
  instance_class = var.instance_class
}
${extra}`;

const SLOW_ROOT = `
resource "terraform_data" "migration" {
  input = "long-running"
  provisioner "local-exec" {
    command = "sleep 60"
  }
}
`;

export function createTerraformRepo(): TerraformRepo {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-tf-repo-'));
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', dir, '-c', 'user.name=agent', '-c', 'user.email=agent@example.com', ...args])
      .toString()
      .trim();
  const write = (files: Record<string, string>) => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
  };
  const commit = (message: string, files: Record<string, string>, remove: string[] = []) => {
    write(files);
    for (const path of remove) rmSync(join(dir, path));
    git('add', '-A');
    git('commit', '-q', '--no-gpg-sign', '-m', message);
    return git('rev-parse', 'HEAD');
  };
  git('init', '-q', '-b', 'main');
  const base = commit('base', {
    'terraform/modules/shared/database.tf': BASE_DATABASE,
    'terraform/staging/main.tf': root('staging'),
    'terraform/production/main.tf': root('production'),
    'terraform/production/production.tfvars': 'instance_class = "db.large"\n',
    'terraform/network/main.tf': 'resource "terraform_data" "vpc" {\n  input = "10.0.0.0/16"\n}\n',
    'terraform/slow/main.tf': SLOW_ROOT,
    'README.md': '# infra\n',
  });
  const head = commit('Add index to improve query performance on users table', {
    'terraform/modules/shared/database.tf': HEAD_DATABASE,
  });
  const destructive = commit('Rebuild the orders index, drop the email index', {
    'terraform/modules/shared/database.tf': DESTRUCTIVE_DATABASE,
  });
  const badHcl = commit('Broken edit', {
    'terraform/modules/shared/database.tf':
      DESTRUCTIVE_DATABASE + '\nresource "terraform_data" "broken" {\n  input = \n}\n',
  });
  // The clone's working tree sits at the base commit, as a worker's clone would lag behind.
  git('checkout', '-q', base);
  return {
    dir,
    commits: { base, head, destructive, badHcl },
    git,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
