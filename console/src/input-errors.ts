import type { FieldError } from './user-errors.ts';

/**
 * The userErrors naming input field `name` at any depth (`["input", "redirectUris", "2"]` names
 * `redirectUris`); with `name` null, those naming none of `formFields`. For a list field entered
 * one item a line, `lineOf` gives the line of the item at an index, named before the message.
 */
export function errorsAt(
  errors: readonly FieldError[],
  name: string | null,
  formFields: readonly string[] = [],
  lineOf?: (index: number) => number | undefined,
): FieldError[] {
  if (name === null) return errors.filter((error) => !formFields.some((field) => error.field?.includes(field)));
  return errors
    .filter((error) => error.field?.includes(name))
    .map((error) => {
      const index = error.field![error.field!.indexOf(name) + 1];
      const line = lineOf && index !== undefined && /^\d+$/.test(index) ? lineOf(Number(index)) : undefined;
      return line === undefined ? error : { ...error, message: `Line ${line}: ${error.message}` };
    });
}
