/**
 * React bindings of Roster's client: `import { RosterProvider, useQuery } from 'roster/client/react'`.
 * urql's hooks take the generated typed documents, so results and variables are typed with no
 * hand-written types:
 *
 *   const [{ data }] = useQuery({ query: UsersPageDocument, variables: { first: 50 } });
 *   data?.users.nodes[0]?.email; // string | null
 */
export { Provider as RosterProvider, useMutation, useQuery } from 'urql';
export { createRosterClient, type RosterClientOptions } from './index.ts';
