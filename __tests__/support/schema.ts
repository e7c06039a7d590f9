import fs from 'node:fs';
import path from 'node:path';
import { expect } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Report } from '../../src/model/report.js';
import { ROOT } from './action.js';

/** schema/report.schema.json, compiled strictly, for every test that checks a real report against it. */

// ajv-formats is CommonJS: under ESM its default export is module.exports (the plugin), typed as the namespace.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

const schemaPath = path.join(ROOT, 'schema', 'report.schema.json');
export const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
export const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true }));
const validate = ajv.compile(schema);

export function errorsOf(report: unknown): string {
  return validate(report) ? '' : ajv.errorsText(validate.errors, { separator: '\n' });
}

export function expectValid(report: Report): void {
  // Through JSON, as a consumer reads the file: no undefined, no Maps.
  const json: unknown = JSON.parse(JSON.stringify(report));
  expect(errorsOf(json)).toBe('');
}
