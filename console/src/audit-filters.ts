import type { AuditEventFilter } from './generated/graphql.ts';

/** The state of the Audit log's filters; times are instants (ISO 8601, UTC), '' for none. */
export interface AuditFilters {
  /** An action name, or `noun.*` for every action of a noun. */
  action: string;
  /** As audit events name actors: a client id, a user's database id, or `system`. */
  actor: string;
  /** The global id of the changed object. */
  target: string;
  from: string;
  to: string;
}

export const NO_AUDIT_FILTERS: AuditFilters = { action: '', actor: '', target: '', from: '', to: '' };

const PARAMS: Record<keyof AuditFilters, string> = {
  action: 'action',
  actor: 'actor',
  target: 'target',
  from: 'from',
  to: 'to',
};

const instant = (value: string | null): string => {
  if (!value) return '';
  const time = Date.parse(value);
  return Number.isNaN(time) ? '' : new Date(time).toISOString();
};

/** The filters from the page's query string (a shared link, the way back); unreadable times are left out. */
export function auditFiltersFromParams(params: URLSearchParams): AuditFilters {
  return {
    action: params.get(PARAMS.action)?.trim() ?? '',
    actor: params.get(PARAMS.actor)?.trim() ?? '',
    target: params.get(PARAMS.target)?.trim() ?? '',
    from: instant(params.get(PARAMS.from)),
    to: instant(params.get(PARAMS.to)),
  };
}

/** The query string of the filters: only those set. */
export function paramsOfAuditFilters(filters: AuditFilters): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of Object.keys(PARAMS) as (keyof AuditFilters)[]) {
    const value = filters[key].trim();
    if (value) params.set(PARAMS[key], value);
  }
  return params;
}

/** The API's filter for the state, leaving out what is not set. */
export function auditFilterOf(filters: AuditFilters): AuditEventFilter {
  const filter: AuditEventFilter = {};
  if (filters.action.trim()) filter.actions = [filters.action.trim()];
  if (filters.actor.trim()) filter.actorId = filters.actor.trim();
  if (filters.target.trim()) filter.targetId = filters.target.trim();
  if (filters.from) filter.after = filters.from;
  if (filters.to) filter.before = filters.to;
  return filter;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** An instant as a `datetime-local` input shows it: in the browser's time zone, to the minute. */
export function localInputOf(iso: string): string {
  if (!iso) return '';
  const at = new Date(iso);
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

/** The instant a `datetime-local` input's value names (a time in the browser's time zone). */
export function instantOfLocalInput(value: string): string {
  return value ? instant(value) : '';
}

/** The filter field a BAD_USER_INPUT error of `auditEvents` names (`extensions.argument`), as a key of the state. */
export function auditFilterFieldOf(argument: unknown): keyof AuditFilters | null {
  switch (argument) {
    case 'filter.actions':
      return 'action';
    case 'filter.actorId':
      return 'actor';
    case 'filter.targetId':
      return 'target';
    case 'filter.after':
      return 'from';
    case 'filter.before':
      return 'to';
    default:
      return null;
  }
}
