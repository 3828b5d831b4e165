#!/usr/bin/env node
// Validates a Backstage catalog file with @backstage/catalog-model, as the catalog would:
// `$text` placeholders are resolved first (the definition file must exist, relative to the
// catalog file, and not be empty), then every entity passes the generic entity policies and the
// validator of its kind, and every relation (owner, system, providesApis, consumesApis,
// dependsOn, ...) points at an entity of the same file.
//   NODE_PATH=<tools>/node/node_modules node tests/deploy/check_catalog.js catalog-info.yaml
'use strict';
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');
const model = require('@backstage/catalog-model');

const file = process.argv[2];
if (!file) {
  console.error('usage: check_catalog.js CATALOG.yaml');
  process.exit(2);
}
const base = path.dirname(path.resolve(file));
const errors = [];

function resolvePlaceholders(value, where) {
  if (Array.isArray(value)) return value.map((v, i) => resolvePlaceholders(v, `${where}[${i}]`));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0].startsWith('$')) {
    const [kind, target] = [keys[0], value[keys[0]]];
    if (kind !== '$text') {
      errors.push(`${where}: placeholder ${kind} is not checked here (use $text)`);
      return '';
    }
    if (/^[a-z]+:\/\//i.test(target)) {
      errors.push(`${where}: $text ${target} is a URL; definitions must be files of this repository`);
      return '';
    }
    const p = path.resolve(base, target);
    if (!fs.existsSync(p) || !fs.statSync(p).isFile()) {
      errors.push(`${where}: definition file ${target} does not exist`);
      return '';
    }
    const text = fs.readFileSync(p, 'utf8');
    if (!text.trim()) errors.push(`${where}: definition file ${target} is empty`);
    return text;
  }
  const out = {};
  for (const k of keys) out[k] = resolvePlaceholders(value[k], `${where}.${k}`);
  return out;
}

const validators = {
  API: model.apiEntityV1alpha1Validator,
  Component: model.componentEntityV1alpha1Validator,
  Domain: model.domainEntityV1alpha1Validator,
  Group: model.groupEntityV1alpha1Validator,
  Location: model.locationEntityV1alpha1Validator,
  Resource: model.resourceEntityV1alpha1Validator,
  System: model.systemEntityV1alpha1Validator,
  User: model.userEntityV1alpha1Validator,
};
const policy = model.EntityPolicies.allOf([
  new model.DefaultNamespaceEntityPolicy(),
  new model.NoForeignRootFieldsEntityPolicy(),
  new model.FieldFormatEntityPolicy(),
  new model.SchemaValidEntityPolicy(),
]);

async function main() {
  const documents = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
  const entities = [];
  for (const [i, doc] of documents.entries()) {
    if (doc.errors.length) {
      errors.push(`document ${i}: ${doc.errors.map(e => e.message).join('; ')}`);
      continue;
    }
    const raw = doc.toJS();
    if (raw === null) continue;
    const name = `${raw.kind}:${raw.metadata && raw.metadata.name}`;
    const entity = resolvePlaceholders(raw, name);
    try {
      const checked = await policy.enforce(entity);
      const validator = validators[entity.kind];
      if (!validator) throw new Error(`unknown kind ${entity.kind}`);
      if (!(await validator.check(checked))) throw new Error(`not a ${entity.kind} entity`);
      entities.push(checked);
    } catch (e) {
      errors.push(`${name}: ${e.message}`);
    }
  }
  const known = new Set(entities.map(e => model.stringifyEntityRef(e)));
  const refs = {
    owner: 'group', system: 'system', domain: 'domain', subcomponentOf: 'component',
    providesApis: 'api', consumesApis: 'api', dependsOn: 'component', dependencyOf: 'component',
  };
  for (const e of entities) {
    for (const [field, defaultKind] of Object.entries(refs)) {
      const value = e.spec && e.spec[field];
      if (value === undefined) continue;
      for (const ref of Array.isArray(value) ? value : [value]) {
        const target = model.stringifyEntityRef(
          model.parseEntityRef(ref, { defaultKind, defaultNamespace: 'default' }));
        if (!known.has(target)) {
          errors.push(`${model.stringifyEntityRef(e)}: spec.${field} ${ref} is not in ${file}`);
        }
      }
    }
  }
  const apis = entities.filter(e => e.kind === 'API');
  for (const a of apis) {
    if (a.spec.type === 'grpc' && !/^\s*service\s+\w+\s*\{/m.test(a.spec.definition)) {
      errors.push(`${model.stringifyEntityRef(a)}: its definition declares no gRPC service`);
    }
  }
  if (errors.length) {
    for (const e of errors) console.error(`catalog: ${e}`);
    process.exit(1);
  }
  const kinds = {};
  for (const e of entities) kinds[e.kind] = (kinds[e.kind] || 0) + 1;
  console.log(`catalog: ${entities.length} entities valid (${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(', ')})`);
}

main().catch(e => {
  console.error(`catalog: ${e.stack || e}`);
  process.exit(1);
});
