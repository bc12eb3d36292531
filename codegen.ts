import type { CodegenConfig } from '@graphql-codegen/cli';
import { addTypenameSelectionDocumentTransform } from '@graphql-codegen/client-preset';

const typesConfig = {
  useTypeImports: true,
  enumsAsTypes: true,
  emitLegacyCommonJSImports: false,
  strictScalars: true,
  scalars: {
    DateTime: 'string',
    LocalDate: 'string',
    EmailAddress: 'string',
    PhoneNumber: 'string',
    URL: 'string',
    JSON: 'unknown',
    JSONObject: 'Record<string, unknown>',
    CountryCode: 'string',
    Locale: 'string',
    TimeZone: 'string',
  },
};

// Typed documents from the committed schema; works offline (run by `npm install`). Three targets:
// the client package (`roster/client`: admin frontends, scripts) from src/client/operations, and the test suite from the `graphql()`
// documents written in test files (test/helpers/documents.ts), which read fields directly, so
// without fragment masking; and the admin console (console/).
const config: CodegenConfig = {
  schema: 'schema.graphql',
  ignoreNoDocuments: false,
  generates: {
    // Unmasked: a script or a page reads a fragment's fields where it queried them.
    'src/generated/client/': {
      documents: ['src/client/operations/**/*.graphql'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: typesConfig,
    },
    // The admin console's own documents (console/src/operations), bundled into the console, and
    // the list of them by SHA-256 (persisted-documents.json): the only documents the API runs for
    // the console's application. `__typename` is added to every selection, in the documents and
    // in the list alike, for the console's document cache.
    'console/src/generated/': {
      documents: ['console/src/operations/**/*.graphql'],
      preset: 'client',
      presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: 'sha256' } },
      documentTransforms: [addTypenameSelectionDocumentTransform],
      config: typesConfig,
    },
    'test/generated/': {
      documents: ['test/**/*.ts', '!test/generated/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: typesConfig,
    },
  },
};

export default config;
