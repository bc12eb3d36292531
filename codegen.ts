import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for clients (admin frontends, scripts) from the committed schema and the
// example operations; works offline.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/client/operations/**/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'src/generated/client/': {
      preset: 'client',
      presetConfig: { fragmentMasking: { unmaskFunctionName: 'getFragmentData' } },
      config: {
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
      },
    },
  },
};

export default config;
