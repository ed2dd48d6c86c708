import { readFileSync } from 'node:fs';
import { validateXML } from 'xmllint-wasm';

/**
 * The OASIS CAP 1.2 schema and Google's stricter cap12-extended.xsd (patterns on
 * identifier, sender, references…), kept as test fixtures so the tests run anywhere.
 * Neither imports another schema file, so each is handed to xmllint on its own.
 */
const FIXTURES = new URL('../fixtures/cap/', import.meta.url);

export const CAP_SCHEMAS = {
  'CAP-v1.2.xsd': readFileSync(new URL('CAP-v1.2.xsd', FIXTURES), 'utf8'),
  'cap12-extended.xsd': readFileSync(new URL('cap12-extended.xsd', FIXTURES), 'utf8'),
} as const;

export type CapSchemaName = keyof typeof CAP_SCHEMAS;

export const CAP_SAMPLES_DIR = new URL('samples/', FIXTURES);

export interface CapValidation {
  valid: boolean;
  /** Each error prefixed with the schema that raised it, e.g. "[cap12-extended.xsd] element sender: …". */
  errors: string[];
}

/** Validates one CAP document against one schema with libxml2 (xmllint compiled to wasm). */
export async function validateCapAgainst(xml: string, schemaName: CapSchemaName): Promise<CapValidation> {
  const result = await validateXML({
    xml: [{ fileName: 'message.xml', contents: xml }],
    schema: [{ fileName: schemaName, contents: CAP_SCHEMAS[schemaName] }],
  });
  return { valid: result.valid, errors: result.errors.map((e) => `[${schemaName}] ${e.message}`) };
}

/** Valid only if the document passes BOTH the OASIS schema and cap12-extended.xsd. */
export async function validateCap(xml: string): Promise<CapValidation> {
  const results = await Promise.all(
    (Object.keys(CAP_SCHEMAS) as CapSchemaName[]).map((name) => validateCapAgainst(xml, name)),
  );
  return { valid: results.every((r) => r.valid), errors: results.flatMap((r) => r.errors) };
}
