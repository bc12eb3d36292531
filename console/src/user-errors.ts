/** A mutation's `userErrors`, placed next to the fields they name. */

export interface FieldError {
  field: readonly string[] | null | undefined;
  message: string;
  code: string;
}

/**
 * The messages of `errors` that name `field` (the last segment of a userError's path), or, with
 * `field` null, those that name no field of the form: shown next to the field, or above it.
 */
export function errorsFor(errors: readonly FieldError[], field: string | null, formFields: readonly string[] = []) {
  return errors.filter((error) => {
    const named = error.field?.[error.field.length - 1];
    return field === null ? !named || !formFields.includes(named) : named === field;
  });
}

/** A request that failed without userErrors (network, GraphQL error): its message as an error of no field. */
export const requestFailed = (message: string | undefined): FieldError[] => [
  { field: null, code: 'ERROR', message: message ?? 'The request failed.' },
];

const INVALID_VARIABLE = /^Variable "\$(\w+)" got invalid value .*? at "\1\.([\w.]+)"; (.+)$/s;

/**
 * A value the API's scalar types refused before running anything (a country code that is not
 * one, a malformed time zone), reported as a GraphQL error naming the variable's path: as a
 * userError of the form field at that path of `variable`, so it appears next to the field too.
 */
export function invalidValues(errors: readonly { message: string }[], variable: string): FieldError[] {
  return errors.flatMap((error) => {
    const match = INVALID_VARIABLE.exec(error.message);
    if (!match || match[1] !== variable) return [];
    return [{ field: ['input', variable, ...match[2]!.split('.')], message: match[3]!, code: 'INVALID' }];
  });
}
