// A Node script on Roster's typed client: lists the realm's suspended users, page by page.
//   ROSTER_URL=http://127.0.0.1:4000 ROSTER_TOKEN=<access token> npx tsx examples/suspended-users.ts
import { UsersPageDocument, createRosterClient } from 'roster/client';

const url = process.env.ROSTER_URL ?? 'http://127.0.0.1:4000';
const client = createRosterClient({ url: `${url}/graphql`, token: process.env.ROSTER_TOKEN ?? '' });

async function page(after: string | null) {
  const result = await client.query(UsersPageDocument, { first: 100, after, filter: { statuses: ['SUSPENDED'] } });
  if (result.error) throw result.error;
  return result.data!.users;
}

for (let after: string | null = null, more = true; more;) {
  const users = await page(after);
  for (const user of users.nodes) console.log(user.id, user.email ?? user.name, user.lastLoginAt ?? 'never signed in');
  [after, more] = [users.pageInfo.endCursor ?? null, users.pageInfo.hasNextPage];
}
