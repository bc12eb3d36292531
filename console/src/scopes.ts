import { createContext, useContext } from 'react';

/** The management scopes the signed-in administrator holds (from `viewer.scopes`). */
export const ScopesContext = createContext<ReadonlySet<string>>(new Set());

export interface Permission {
  allowed: boolean;
  /** Why not, to show beside a disabled control. */
  reason: string | null;
}

/** Whether the administrator's scopes allow something that needs `scope`. */
export function usePermission(scope: string): Permission {
  const scopes = useContext(ScopesContext);
  return scopes.has(scope)
    ? { allowed: true, reason: null }
    : { allowed: false, reason: `Needs the ${scope} scope, which your roles do not grant.` };
}
