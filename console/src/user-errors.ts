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
