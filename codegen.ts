import type { CodegenConfig } from '@graphql-codegen/cli';

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

// Typed documents from the committed schema; works offline. Two targets: clients (admin
// frontends, scripts) from the example operations, and the test suite from the `graphql()`
// documents written in test files (test/helpers/documents.ts), which read fields directly, so
// without fragment masking.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  ignoreNoDocuments: false,
  generates: {
    'src/generated/client/': {
      documents: ['src/client/operations/**/*.graphql'],
      preset: 'client',
      presetConfig: { fragmentMasking: { unmaskFunctionName: 'getFragmentData' } },
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
