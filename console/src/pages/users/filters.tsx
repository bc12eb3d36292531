import { useState, type ReactNode } from 'react';
import { useQuery } from 'urql';
import {
  ConsoleUserFieldValuesDocument,
  ConsoleUserFilterChoicesDocument,
  type UserValueField,
} from '../../generated/graphql.ts';
import {
  conditionOfForm,
  DAY_CHOICES,
  describeCondition,
  isCalendarDay,
  moreFiltersSet,
  OPS_BY_TYPE,
  type AttributeCondition,
  type AttributeDefinition,
  type AttributeOp,
  type Filters,
  type Tristate,
} from '../../filters.ts';
import { FieldErrors } from '../../components.tsx';
import { useDebounced } from '../../hooks.ts';
import { usePermission } from '../../scopes.ts';

/**
 * A list filter: a checkbox per value, with how many users have it; `before` and `after` go
 * inside its fieldset around the checkboxes (it is shown without values only when they are given).
 */
export function FacetList<T extends string>({
  legend,
  values,
  chosen,
  label,
  count,
  onChange,
  before,
  after,
}: {
  legend: string;
  values: readonly T[];
  chosen: readonly string[];
  label: (value: T) => string;
  /** How many users have a value (undefined: none; null: not known, and not shown); no counts are shown without it. */
  count?: (value: T) => number | null | undefined;
  onChange: (values: T[]) => void;
  before?: ReactNode;
  after?: ReactNode;
}) {
  if (!values.length && !before && !after) return null;
  return (
    <fieldset>
      <legend>{legend}</legend>
      {before}
      {values.map((value) => {
        const users = count ? (count(value) ?? 0) : null;
        return (
          <label key={value} className="check">
            <input
              type="checkbox"
              checked={chosen.includes(value)}
              onChange={(event) =>
                onChange((event.target.checked ? [...chosen, value] : chosen.filter((v) => v !== value)) as T[])
              }
            />
            <span>{label(value)}</span>
            {users !== null && <span className="count">{users.toLocaleString()}</span>}
          </label>
        );
      })}
      {after}
    </fieldset>
  );
}

interface ValueCount {
  value: string;
  count: number;
}

/** How many of the commonest values a value list shows until the administrator searches it. */
const COMMONEST_SHOWN = 8;

/**
 * A value list of a field with many values (regions, cities, …): the commonest few with their
 * counts, and a search box that asks the API for the values starting with what is typed, so any
 * value can be chosen, not only the commonest. Chosen values stay listed whatever is shown.
 */
function SearchableValueList({
  id,
  legend,
  field,
  commonest,
  chosen,
  onChange,
}: {
  id: string;
  legend: string;
  field: UserValueField;
  commonest: readonly ValueCount[] | undefined;
  chosen: readonly string[];
  onChange: (values: string[]) => void;
}) {
  const [typed, setTyped] = useState('');
  const prefix = useDebounced(typed.trim(), 250);
  const [found] = useQuery({
    query: ConsoleUserFieldValuesDocument,
    variables: { field, prefix },
    pause: !prefix,
  });
  const searching = prefix !== '';
  const shown: readonly ValueCount[] = searching
    ? (found.data?.userFieldValues.nodes ?? [])
    : (commonest ?? []).slice(0, COMMONEST_SHOWN);
  const counts = new Map([...(commonest ?? []), ...shown].map((node) => [node.value, node.count]));
  const values = [...new Set([...chosen, ...shown.map((node) => node.value)])];
  if (!searching && !values.length && !(commonest ?? []).length) return null;
  const nothing = searching && !found.fetching && found.data && shown.length === 0;
  return (
    <FacetList
      legend={legend}
      values={values}
      chosen={chosen}
      label={(value) => value}
      count={(value) => (counts.has(value) ? counts.get(value) : null)}
      onChange={onChange}
      before={
        <input
          id={`${id}-search`}
          type="search"
          value={typed}
          placeholder={`Find a ${legend.toLowerCase()}…`}
          aria-label={`Find a ${legend.toLowerCase()}`}
          aria-describedby={`${id}-hint`}
          maxLength={100}
          onChange={(event) => setTyped(event.target.value)}
        />
      }
      after={
        <p id={`${id}-hint`} className="hint" role="status">
          {found.error
            ? found.error.message
            : nothing
              ? `No ${legend.toLowerCase()} starts with “${prefix}”.`
              : searching
                ? `Starting with “${prefix}”, commonest first.`
                : `The ${Math.min(COMMONEST_SHOWN, (commonest ?? []).length)} commonest; type to find another.`}
        </p>
      }
    />
  );
}

export function TristateSelect({
  id,
  label,
  value,
  options,
  onChange,
}: {
  id: string;
  label: string;
  value: Tristate;
  options: [string, string, string];
  onChange: (value: Tristate) => void;
}) {
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(event) => onChange(event.target.value as Tristate)}>
        <option value="">{options[0]}</option>
        <option value="yes">{options[1]}</option>
        <option value="no">{options[2]}</option>
      </select>
    </>
  );
}

/** Two inputs for the ends of a range (`from` and `to` of one filter). */
function Range({
  id,
  legend,
  type,
  from,
  to,
  onChange,
  max,
}: {
  id: string;
  legend: string;
  type: 'date' | 'number';
  from: string;
  to: string;
  onChange: (from: string, to: string) => void;
  max?: number;
}) {
  // A number field holds whole numbers only: anything else typed is not taken.
  const accept = (value: string) => (type === 'date' ? isCalendarDay(value) || value === '' : /^\d{0,5}$/.test(value));
  const props = type === 'number' ? { min: 0, max, step: 1, inputMode: 'numeric' as const } : {};
  return (
    <fieldset className="range">
      <legend>{legend}</legend>
      <label htmlFor={`${id}-from`}>{type === 'date' ? 'From' : 'At least'}</label>
      <input
        id={`${id}-from`}
        type={type}
        value={from}
        {...props}
        onChange={(event) => accept(event.target.value) && onChange(event.target.value, to)}
      />
      <label htmlFor={`${id}-to`}>{type === 'date' ? 'To' : 'At most'}</label>
      <input
        id={`${id}-to`}
        type={type}
        value={to}
        {...props}
        onChange={(event) => accept(event.target.value) && onChange(from, event.target.value)}
      />
    </fieldset>
  );
}

/** Conditions on the realm's custom attributes: the chosen ones, and a form to add one. */
function AttributeFilter({
  definitions,
  conditions,
  onChange,
}: {
  definitions: readonly AttributeDefinition[];
  conditions: AttributeCondition[];
  onChange: (conditions: AttributeCondition[]) => void;
}) {
  const [key, setKey] = useState('');
  const [op, setOp] = useState<AttributeOp>('equals');
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const definition = definitions.find((candidate) => candidate.key === key);
  const ops = definition ? OPS_BY_TYPE[definition.type] : [];
  const byKey = new Map(definitions.map((candidate) => [candidate.key, candidate]));

  if (!definitions.length && !conditions.length) return null;
  const choose = (next: string) => {
    const chosen = definitions.find((candidate) => candidate.key === next);
    setKey(next);
    setOp(chosen ? OPS_BY_TYPE[chosen.type][0]![0] : 'equals');
    setText(chosen?.type === 'BOOLEAN' ? 'true' : chosen?.type === 'ENUM' ? (chosen.options?.[0] ?? '') : '');
    setError(null);
  };
  const add = () => {
    if (!definition) return;
    const condition = conditionOfForm(definition, op, text);
    if ('error' in condition) {
      setError(condition.error);
      return;
    }
    onChange([...conditions, condition]);
    choose('');
  };
  const yesNo = op === 'exists' || definition?.type === 'BOOLEAN';

  return (
    <fieldset className="attribute-filter">
      <legend>Custom attributes</legend>
      {conditions.length > 0 && (
        <ul className="conditions">
          {conditions.map((condition, i) => {
            const sentence = describeCondition(condition, byKey.get(condition.key));
            return (
              <li key={`${condition.key}.${condition.op}.${i}`}>
                <span>{sentence}</span>
                <button
                  type="button"
                  className="remove"
                  aria-label={`Remove: ${sentence}`}
                  onClick={() => onChange(conditions.filter((_, j) => j !== i))}
                >
                  Remove
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <label htmlFor="attribute-key">Attribute</label>
      <select id="attribute-key" value={key} onChange={(event) => choose(event.target.value)}>
        <option value="">Choose an attribute…</option>
        {definitions.map((candidate) => (
          <option key={candidate.key} value={candidate.key}>
            {candidate.displayName}
          </option>
        ))}
      </select>
      {definition && (
        <>
          <label htmlFor="attribute-op">Condition</label>
          <select
            id="attribute-op"
            value={op}
            onChange={(event) => {
              const next = event.target.value as AttributeOp;
              setOp(next);
              if (next === 'exists' || definition.type === 'BOOLEAN') setText('true');
              else if (op === 'exists') setText(definition.type === 'ENUM' ? (definition.options?.[0] ?? '') : '');
            }}
          >
            {ops.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
          <label htmlFor="attribute-value">Value</label>
          {yesNo ? (
            <select id="attribute-value" value={text} onChange={(event) => setText(event.target.value)}>
              <option value="true">{op === 'exists' ? 'Is set' : 'Yes'}</option>
              <option value="false">{op === 'exists' ? 'Is not set' : 'No'}</option>
            </select>
          ) : definition.type === 'ENUM' ? (
            <select id="attribute-value" value={text} onChange={(event) => setText(event.target.value)}>
              {(definition.options ?? []).map((option) => (
                <option key={option} value={option}>
                  {option}
                </option>
              ))}
            </select>
          ) : (
            <input
              id="attribute-value"
              type={definition.type === 'DATE' ? 'date' : definition.type === 'NUMBER' ? 'number' : 'text'}
              value={text}
              maxLength={200}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? 'attribute-value-error' : undefined}
              onChange={(event) => {
                setText(event.target.value);
                setError(null);
              }}
              onKeyDown={(event) => {
                if (event.key === 'Enter') add();
              }}
            />
          )}
          {error && <FieldErrors id="attribute-value-error" errors={[error]} />}
          <button type="button" className="button" onClick={add}>
            Add condition
          </button>
        </>
      )}
    </fieldset>
  );
}

/**
 * The panel's further filters, in a section closed until opened (open when any is set): activity
 * and dates, age and failed sign-ins, profile, location, applications, custom attributes and
 * deleted users. Their value lists are the commonest values over every user, with their counts.
 */
export function MoreUserFilters({ filters, update }: { filters: Filters; update: (patch: Partial<Filters>) => void }) {
  const set = moreFiltersSet(filters);
  const [open, setOpen] = useState(set > 0);
  const canReadApplications = usePermission('applications:read').allowed;
  const [choices] = useQuery({
    query: ConsoleUserFilterChoicesDocument,
    variables: { applications: canReadApplications },
    pause: !open,
  });
  const data = choices.data;
  const valueList = (
    legend: string,
    facet: 'regions' | 'cities' | 'timezones' | 'genders',
    field: UserValueField,
    nodes: readonly ValueCount[] | undefined,
  ) => (
    <SearchableValueList
      id={`user-${facet}`}
      legend={legend}
      field={field}
      commonest={nodes}
      chosen={filters[facet]}
      onChange={(chosen) => update({ [facet]: chosen })}
    />
  );
  const applicationNames = new Map(data?.applications?.nodes.map((application) => [application.id, application.name]));

  return (
    <details className="more-filters" open={open} onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary>More filters{set ? ` (${set} set)` : ''}</summary>
      {choices.error && <FieldErrors errors={[choices.error.message]} />}

      <label htmlFor="user-active-within">Active</label>
      <select
        id="user-active-within"
        value={filters.activeInLastDays}
        onChange={(event) => update({ activeInLastDays: event.target.value })}
      >
        <option value="">Any time or never</option>
        {DAY_CHOICES.map((days) => (
          <option key={days} value={days}>
            In the last {days === '1' ? 'day' : `${days} days`}
          </option>
        ))}
      </select>

      <Range
        id="user-created"
        legend="Created between"
        type="date"
        from={filters.createdFrom}
        to={filters.createdTo}
        onChange={(createdFrom, createdTo) => update({ createdFrom, createdTo })}
      />
      <Range
        id="user-signed-in"
        legend="Last signed in between"
        type="date"
        from={filters.signedInFrom}
        to={filters.signedInTo}
        onChange={(signedInFrom, signedInTo) => update({ signedInFrom, signedInTo })}
      />
      <Range
        id="user-age"
        legend="Age (from the birthdate)"
        type="number"
        max={150}
        from={filters.ageMin}
        to={filters.ageMax}
        onChange={(ageMin, ageMax) => update({ ageMin, ageMax })}
      />
      <Range
        id="user-failed"
        legend="Failed sign-ins in a row"
        type="number"
        from={filters.failedMin}
        to={filters.failedMax}
        onChange={(failedMin, failedMax) => update({ failedMin, failedMax })}
      />

      <TristateSelect
        id="user-provider-linked"
        label="Identity provider"
        value={filters.hasOAuth}
        options={['Linked or not', 'Linked', 'None linked']}
        onChange={(hasOAuth) => update({ hasOAuth })}
      />
      <TristateSelect
        id="user-profile-complete"
        label="Profile"
        value={filters.profileComplete}
        options={['Complete or not', 'Complete', 'Missing a required field']}
        onChange={(profileComplete) => update({ profileComplete })}
      />
      <TristateSelect
        id="user-picture"
        label="Picture"
        value={filters.hasPicture}
        options={['With or without', 'With a picture', 'Without']}
        onChange={(hasPicture) => update({ hasPicture })}
      />
      <TristateSelect
        id="user-bio"
        label="Bio"
        value={filters.hasBio}
        options={['With or without', 'With a bio', 'Without']}
        onChange={(hasBio) => update({ hasBio })}
      />
      <TristateSelect
        id="user-location"
        label="Location"
        value={filters.hasLocation}
        options={['Known or not', 'Country, region or city known', 'None known']}
        onChange={(hasLocation) => update({ hasLocation })}
      />

      <p className="hint">
        The lists below show the commonest values, counted over every user; type in one to find any other.
      </p>
      {valueList('Region', 'regions', 'REGION', data?.regions.nodes)}
      {valueList('City', 'cities', 'CITY', data?.cities.nodes)}
      {valueList('Time zone', 'timezones', 'TIMEZONE', data?.timezones.nodes)}
      {valueList('Gender', 'genders', 'GENDER', data?.genders.nodes)}
      {canReadApplications && (
        <FacetList
          legend="Application"
          values={[...new Set([...applicationNames.keys(), ...filters.applicationIds])]}
          chosen={filters.applicationIds}
          label={(id) => applicationNames.get(id) ?? id}
          onChange={(applicationIds) => update({ applicationIds })}
        />
      )}

      <AttributeFilter
        definitions={data?.userFilterValues.customAttributes ?? []}
        conditions={filters.attributes}
        onChange={(attributes) => update({ attributes })}
      />

      <label className="check">
        <input
          type="checkbox"
          checked={filters.includeDeleted}
          onChange={(event) => update({ includeDeleted: event.target.checked })}
        />
        <span>Include deleted users</span>
      </label>
    </details>
  );
}
