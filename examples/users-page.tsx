// A React page of an admin console on Roster's typed hooks: search, the page with its total,
// and suspending a user, with the mutation's userErrors shown. Type-checked with the project.
import { useState } from 'react';
import { SuspendUserDocument, UsersPageDocument } from 'roster/client';
import { RosterProvider, createRosterClient, useMutation, useQuery } from 'roster/client/react';

const client = createRosterClient({ url: '/graphql', token: () => sessionStorage.getItem('roster-token') ?? '' });

function UsersTable() {
  const [search, setSearch] = useState('');
  const [{ data, fetching, error }] = useQuery({
    query: UsersPageDocument,
    variables: { first: 50, filter: search ? { search } : null },
  });
  const [suspension, suspend] = useMutation(SuspendUserDocument);
  const problems = suspension.data?.suspendUser.userErrors ?? [];
  return (
    <section>
      <input aria-label="Search users" value={search} onChange={(event) => setSearch(event.target.value)} />
      {error && <p role="alert">{error.message}</p>}
      {problems.map((problem) => (
        <p role="alert" key={problem.code}>
          {problem.message}
        </p>
      ))}
      <p>{fetching ? 'Loading…' : `${data?.users.totalCount ?? 0} users`}</p>
      <table>
        <tbody>
          {data?.users.nodes.map((user) => (
            <tr key={user.id}>
              <td>{user.email ?? user.name}</td>
              <td>{user.status}</td>
              <td>
                <button
                  disabled={user.status === 'SUSPENDED'}
                  onClick={() => void suspend({ id: user.id, reason: 'Suspended from the console' })}
                >
                  Suspend
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function UsersPage() {
  return (
    <RosterProvider value={client}>
      <UsersTable />
    </RosterProvider>
  );
}
