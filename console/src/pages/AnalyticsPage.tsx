import { useContext, useId, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import {
  axisTicks,
  browserTimeZone,
  bucketLabel,
  formatChange,
  formatCount,
  formatRelative,
  formatShare,
  formatSharePoints,
  GROWTH_SPAN,
  largestFirst,
  lastDays,
  PERIOD_DAYS,
  type PeriodDays,
} from '../analytics.ts';
import { FACTOR_LABELS, METHOD_LABELS, Notice, regionNames, Section, STATUS_LABELS } from '../components.tsx';
import {
  ConsoleUserBreakdownsDocument,
  ConsoleUserGrowthDocument,
  ConsoleUserOverviewDocument,
  type ConsoleBreakdownTotalsFragment,
  type ConsoleOverviewCountFragment,
  type ConsoleOverviewShareFragment,
  type GrowthInterval,
  type PeriodComparison,
} from '../generated/graphql.ts';
import { ScopesContext } from '../scopes.ts';
import { navigate, useLocation } from '../router.ts';
import './AnalyticsPage.css';

const INTERVALS: { value: GrowthInterval; label: string }[] = [
  { value: 'DAY', label: 'Day' },
  { value: 'WEEK', label: 'Week' },
  { value: 'MONTH', label: 'Month' },
];

const COMPARISONS: { value: PeriodComparison; label: string }[] = [
  { value: 'PREVIOUS_PERIOD', label: 'the previous period' },
  { value: 'SAME_PERIOD_LAST_YEAR', label: 'the same period last year' },
];

const dateOnly = new Intl.DateTimeFormat('en', { dateStyle: 'medium' });
const periodText = (period: { from: string; to: string }) =>
  `${dateOnly.format(new Date(period.from))} – ${dateOnly.format(new Date(period.to))}`;

/** The choices of the screen as kept in its address (`?period=7&compare=…&interval=WEEK`): a reload or a shared link shows the same. */
function choicesOf(search: URLSearchParams) {
  const days = Number(search.get('period'));
  const compare = search.get('compare');
  const interval = search.get('interval');
  return {
    periodDays: (PERIOD_DAYS as readonly number[]).includes(days) ? (days as PeriodDays) : 30,
    compareTo: COMPARISONS.find((choice) => choice.value === compare)?.value ?? 'PREVIOUS_PERIOD',
    interval: INTERVALS.find((choice) => choice.value === interval)?.value ?? 'DAY',
  };
}

export function AnalyticsPage() {
  const scopes = useContext(ScopesContext);
  const { search } = useLocation();
  const { periodDays, compareTo, interval } = choicesOf(search);
  const choose = (change: Partial<ReturnType<typeof choicesOf>>) => {
    const next = { periodDays, compareTo, interval, ...change };
    const query = new URLSearchParams({
      period: String(next.periodDays),
      compare: next.compareTo,
      interval: next.interval,
    });
    navigate(`/analytics?${query.toString()}`, true);
  };
  const setPeriodDays = (days: PeriodDays) => choose({ periodDays: days });
  const setCompareTo = (compare: PeriodComparison) => choose({ compareTo: compare });
  const chooseInterval = (next: GrowthInterval) => choose({ interval: next });
  // Fixed until Refresh, so the variables (and urql's cache keys) stay the same between renders.
  const [now, setNow] = useState(() => new Date());
  const timeZone = useMemo(browserTimeZone, []);

  return (
    <>
      <div className="page-head">
        <h1>Analytics</h1>
        <p className="muted">Times in {timeZone}</p>
      </div>
      <div className="analytics-controls card">
        <label htmlFor="analytics-period">Period</label>
        <select
          id="analytics-period"
          value={periodDays}
          onChange={(event) => setPeriodDays(Number(event.target.value) as PeriodDays)}
        >
          {PERIOD_DAYS.map((days) => (
            <option key={days} value={days}>
              Last {days} days
            </option>
          ))}
        </select>
        <label htmlFor="analytics-compare">Compared to</label>
        <select
          id="analytics-compare"
          value={compareTo}
          onChange={(event) => setCompareTo(event.target.value as PeriodComparison)}
        >
          {COMPARISONS.map((choice) => (
            <option key={choice.value} value={choice.value}>
              {choice.label}
            </option>
          ))}
        </select>
        <button type="button" className="button" onClick={() => setNow(new Date())}>
          Refresh
        </button>
      </div>
      <Overview periodDays={periodDays} compareTo={compareTo} now={now} />
      <Growth
        periodDays={periodDays}
        interval={interval}
        chooseInterval={chooseInterval}
        now={now}
        timeZone={timeZone}
        signIns={scopes.has('audit:read')}
      />
      <Breakdowns roles={scopes.has('roles:read')} tenants={scopes.has('tenants:read')} />
    </>
  );
}

function Overview({ periodDays, compareTo, now }: { periodDays: number; compareTo: PeriodComparison; now: Date }) {
  const period = useMemo(() => lastDays(periodDays, now), [periodDays, now]);
  const [{ data, error, fetching }] = useQuery({
    query: ConsoleUserOverviewDocument,
    variables: { period, compareTo },
  });
  const overview = data?.userOverview;
  return (
    <section className="analytics-section" aria-labelledby="overview-title" aria-busy={fetching}>
      <h2 id="overview-title">Headline figures</h2>
      {error && <Notice kind="error">{error.message}</Notice>}
      {overview && (
        <>
          <p className="muted small">
            {periodText(overview.period)}, compared to {periodText(overview.comparedTo)}.
          </p>
          <div className="figures">
            <CountFigure label="Users" hint="at the end of the period" figure={overview.total} />
            <CountFigure label="New users" hint="created in the period" figure={overview.new} />
            <CountFigure label="Active users" hint="signed in or used a session" figure={overview.active} />
            <CountFigure label="Suspended" hint="at the end of the period" figure={overview.suspended} invert />
            <CountFigure label="Locked out" hint="at the end of the period" figure={overview.locked} invert />
            <ShareFigure label="Verified email" figure={overview.verifiedShare} />
            <ShareFigure label="With a second factor" figure={overview.mfaShare} />
          </div>
        </>
      )}
    </section>
  );
}

/** A change's direction for colour: good, bad or neither (`invert`: fewer is better). */
function tone(change: number | null | undefined, invert = false): string {
  if (!change) return 'flat';
  return change > 0 !== invert ? 'up' : 'down';
}

function CountFigure({
  label,
  hint,
  figure,
  invert = false,
}: {
  label: string;
  hint: string;
  figure: ConsoleOverviewCountFragment;
  invert?: boolean;
}) {
  const id = useId();
  return (
    <div className="figure card" role="group" aria-labelledby={id}>
      <h3 id={id}>{label}</h3>
      <p className="figure-value" data-figure={label}>
        {formatCount(figure.value)}
      </p>
      <p className="muted small">{hint}</p>
      <p className={`figure-change ${tone(figure.change, invert)}`}>
        {formatChange(figure.change)}
        {figure.relativeChange !== null && ` (${formatRelative(figure.relativeChange)})`}
      </p>
      <p className="muted small">previously {formatCount(figure.previous)}</p>
    </div>
  );
}

function ShareFigure({ label, figure }: { label: string; figure: ConsoleOverviewShareFragment }) {
  const id = useId();
  return (
    <div className="figure card" role="group" aria-labelledby={id}>
      <h3 id={id}>{label}</h3>
      <p className="figure-value" data-figure={label}>
        {formatShare(figure.value)}
      </p>
      <p className="muted small">of users, at the end of the period</p>
      <p className={`figure-change ${tone(figure.change)}`}>{formatSharePoints(figure.change)}</p>
      <p className="muted small">previously {formatShare(figure.previous)}</p>
    </div>
  );
}

interface Series {
  label: string;
  /** The CSS class giving the line its colour. */
  tone: string;
  values: readonly number[];
}

function Growth({
  periodDays,
  interval,
  chooseInterval,
  now,
  timeZone,
  signIns,
}: {
  periodDays: number;
  interval: GrowthInterval;
  chooseInterval: (interval: GrowthInterval) => void;
  now: Date;
  timeZone: string;
  signIns: boolean;
}) {
  const span = GROWTH_SPAN[interval](periodDays);
  const range = useMemo(() => lastDays(span.days, now), [span.days, now]);
  const [{ data, error, fetching }] = useQuery({
    query: ConsoleUserGrowthDocument,
    variables: { interval, ...range, timeZone, signIns },
  });
  const growth = data?.userGrowth;
  const buckets = growth?.buckets ?? [];
  const labels = buckets.map((bucket) => bucketLabel(bucket.start, growth!.interval, growth!.timeZone));
  const signInRows = growth?.signIns ?? null;

  return (
    <Section title="Growth" id="growth-title" wide>
      <div className="growth-head">
        <p className="muted small">Users over {span.label}.</p>
        <fieldset className="segmented">
          <legend className="visually-hidden">Interval</legend>
          {INTERVALS.map((choice) => (
            <label key={choice.value} className={interval === choice.value ? 'chosen' : undefined}>
              <input
                type="radio"
                name="growth-interval"
                value={choice.value}
                checked={interval === choice.value}
                onChange={() => chooseInterval(choice.value)}
              />
              {choice.label}
            </label>
          ))}
        </fieldset>
      </div>
      {error && <Notice kind="error">{error.message}</Notice>}
      <div className="charts" aria-busy={fetching}>
        {growth && (
          <>
            <LineChart
              title="Users at the end of each bucket"
              labels={labels}
              series={[{ label: 'Users', tone: 'tone-1', values: buckets.map((bucket) => bucket.usersAtEnd) }]}
            />
            <LineChart
              title="Sign-ups, deletions and active users"
              labels={labels}
              series={[
                { label: 'Sign-ups', tone: 'tone-2', values: buckets.map((bucket) => bucket.signUps) },
                { label: 'Deletions', tone: 'tone-3', values: buckets.map((bucket) => bucket.deletions) },
                { label: 'Active users', tone: 'tone-4', values: buckets.map((bucket) => bucket.activeUsers) },
              ]}
            />
            {signInRows ? (
              <LineChart
                title="Sign-in attempts"
                labels={labels}
                series={[
                  { label: 'Succeeded', tone: 'tone-2', values: signInRows.map((bucket) => bucket.succeeded) },
                  { label: 'Failed', tone: 'tone-3', values: signInRows.map((bucket) => bucket.failed) },
                ]}
              />
            ) : (
              <Notice kind="info">
                Sign-in attempts are not shown: they come from the audit log, and your roles do not grant the audit:read
                scope.
              </Notice>
            )}
          </>
        )}
      </div>
      {growth && (
        <details className="chart-table">
          <summary>The figures as a table</summary>
          <table>
            <caption className="visually-hidden">Growth per {interval.toLowerCase()}</caption>
            <thead>
              <tr>
                <th scope="col">From</th>
                <th scope="col">Sign-ups</th>
                <th scope="col">Deletions</th>
                <th scope="col">Users at end</th>
                <th scope="col">Active users</th>
                {signInRows && <th scope="col">Sign-ins succeeded</th>}
                {signInRows && <th scope="col">Sign-ins failed</th>}
              </tr>
            </thead>
            <tbody>
              {buckets.map((bucket, index) => (
                <tr key={bucket.start}>
                  <th scope="row">{labels[index]}</th>
                  <td>{formatCount(bucket.signUps)}</td>
                  <td>{formatCount(bucket.deletions)}</td>
                  <td>{formatCount(bucket.usersAtEnd)}</td>
                  <td>{formatCount(bucket.activeUsers)}</td>
                  {signInRows && <td>{formatCount(signInRows[index]?.succeeded ?? 0)}</td>}
                  {signInRows && <td>{formatCount(signInRows[index]?.failed ?? 0)}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </Section>
  );
}

const WIDTH = 360;
const HEIGHT = 170;
const PAD = { top: 10, right: 8, bottom: 24, left: 40 };

/** A line per series over the same buckets; described for screen readers, the table above holds the figures. */
function LineChart({ title, labels, series }: { title: string; labels: readonly string[]; series: readonly Series[] }) {
  const max = Math.max(0, ...series.flatMap((line) => line.values));
  const ticks = axisTicks(max);
  const top = ticks.at(-1)!;
  const innerWidth = WIDTH - PAD.left - PAD.right;
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const x = (index: number) =>
    PAD.left + (labels.length < 2 ? innerWidth / 2 : (index / (labels.length - 1)) * innerWidth);
  const y = (value: number) => PAD.top + innerHeight - (value / top) * innerHeight;
  // A label every few buckets, the last one always (the one before it left out when they would touch).
  const every = Math.max(1, Math.ceil(labels.length / 4));
  const summary = series
    .map((line) => {
      const total = line.values.reduce((sum, value) => sum + value, 0);
      const last = line.values.at(-1) ?? 0;
      return `${line.label}: ${formatCount(last)} in the last bucket, ${formatCount(total)} in all, at most ${formatCount(Math.max(0, ...line.values))}`;
    })
    .join('; ');
  const range = labels.length ? `${labels[0]} to ${labels.at(-1)}` : 'no buckets';

  return (
    <figure className="chart card">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${title}, ${range}. ${summary}.`}>
        {ticks.map((tick) => (
          <g key={tick} className="grid">
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(tick)} y2={y(tick)} />
            <text x={PAD.left - 6} y={y(tick)} dy="0.32em" textAnchor="end">
              {formatCount(tick)}
            </text>
          </g>
        ))}
        {labels.map((label, index) =>
          index === labels.length - 1 || (index % every === 0 && labels.length - 1 - index >= every / 2) ? (
            <text
              key={label + index}
              className="axis-label"
              x={x(index)}
              y={HEIGHT - 6}
              textAnchor={index === 0 ? 'start' : index === labels.length - 1 ? 'end' : 'middle'}
            >
              {label}
            </text>
          ) : null,
        )}
        {series.map((line) => (
          <g key={line.label} className={`series ${line.tone}`}>
            <polyline points={line.values.map((value, index) => `${x(index)},${y(value)}`).join(' ')} />
            {line.values.length <= 31 &&
              line.values.map((value, index) => <circle key={index} cx={x(index)} cy={y(value)} r={2.5} />)}
          </g>
        ))}
      </svg>
      <ul className="legend" aria-hidden="true">
        {series.map((line) => (
          <li key={line.label} className={line.tone}>
            {line.label}
          </li>
        ))}
      </ul>
    </figure>
  );
}

interface BarRow {
  key: string;
  label: string;
  count: number;
}

function Breakdowns({ roles, tenants }: { roles: boolean; tenants: boolean }) {
  const [{ data, error }] = useQuery({ query: ConsoleUserBreakdownsDocument, variables: { roles, tenants } });
  return (
    <section className="analytics-section" aria-labelledby="breakdowns-title">
      <h2 id="breakdowns-title">Breakdowns</h2>
      <p className="muted small">Users now (deleted ones left out); a user with several values counts once for each.</p>
      {error && <Notice kind="error">{error.message}</Notice>}
      {data && (
        <div className="breakdowns">
          <BarList
            title="Status"
            none="no status"
            totals={data.byStatus}
            rows={data.byStatus.rows.map((row) =>
              row.__typename === 'StatusBreakdownRow'
                ? { key: row.status, label: STATUS_LABELS[row.status], count: row.count }
                : null,
            )}
          />
          {data.byRole ? (
            <BarList
              title="Role"
              none="no role"
              totals={data.byRole}
              rows={data.byRole.rows.map((row) =>
                row.__typename === 'RoleBreakdownRow' && row.role
                  ? { key: row.role.id, label: row.role.name, count: row.count }
                  : null,
              )}
            />
          ) : (
            <MissingScope title="Role" scope="roles:read" />
          )}
          {data.byTenant ? (
            <BarList
              title="Tenant"
              none="no tenant"
              totals={data.byTenant}
              rows={data.byTenant.rows.map((row) =>
                row.__typename === 'TenantBreakdownRow' && row.tenant
                  ? { key: row.tenant.id, label: row.tenant.name, count: row.count }
                  : null,
              )}
            />
          ) : (
            <MissingScope title="Tenant" scope="tenants:read" />
          )}
          <BarList
            title="Country"
            none="no country"
            totals={data.byCountry}
            rows={data.byCountry.rows.map((row) =>
              row.__typename === 'CountryBreakdownRow'
                ? { key: row.country, label: regionNames?.of(row.country) ?? row.country, count: row.count }
                : null,
            )}
          />
          <BarList
            title="Sign-in method"
            none="no sign-in method"
            totals={data.byAuthMethod}
            rows={data.byAuthMethod.rows.map((row) =>
              row.__typename === 'AuthMethodBreakdownRow'
                ? { key: row.authMethod, label: METHOD_LABELS[row.authMethod], count: row.count }
                : null,
            )}
          />
          <BarList
            title="Second factor"
            none="no second factor"
            totals={data.byMfaType}
            rows={data.byMfaType.rows.map((row) =>
              row.__typename === 'MfaTypeBreakdownRow'
                ? { key: row.mfaType, label: FACTOR_LABELS[row.mfaType], count: row.count }
                : null,
            )}
          />
        </div>
      )}
    </section>
  );
}

function MissingScope({ title, scope }: { title: string; scope: string }) {
  return (
    <Section title={title} id={`breakdown-${title.toLowerCase()}`}>
      <p className="muted">Not shown: naming them needs the {scope} scope, which your roles do not grant.</p>
    </Section>
  );
}

/** A breakdown as horizontal bars, largest first; the bars are drawn to the largest count. */
function BarList({
  title,
  none,
  totals,
  rows,
}: {
  title: string;
  none: string;
  totals: ConsoleBreakdownTotalsFragment;
  rows: readonly (BarRow | null)[];
}) {
  const bars = largestFirst(rows.filter((row): row is BarRow => row !== null));
  const max = Math.max(1, ...bars.map((row) => row.count));
  const id = `breakdown-${title.toLowerCase().replaceAll(/\W+/g, '-')}`;
  return (
    <Section title={title} id={id}>
      {bars.length === 0 ? (
        <p className="muted">No users have one.</p>
      ) : (
        <ol className="bars" aria-labelledby={id} data-breakdown={title}>
          {bars.map((row) => (
            <li key={row.key}>
              <span className="bar-label" title={row.label}>
                {row.label}
              </span>
              <svg className="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
                <rect width={(row.count / max) * 100} height={10} rx={1} />
              </svg>
              <span className="bar-count">{formatCount(row.count)}</span>
            </li>
          ))}
        </ol>
      )}
      {(totals.valueCount > bars.length || totals.withoutValue > 0) && (
        <p className="muted small">
          {totals.valueCount > bars.length &&
            `${formatCount(totals.valueCount - bars.length)} more values not listed. `}
          {totals.withoutValue > 0 &&
            `${formatCount(totals.withoutValue)} of ${formatCount(totals.total)} users with ${none}.`}
        </p>
      )}
    </Section>
  );
}
