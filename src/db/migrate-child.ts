// Entry of the child process of `migrateInChildProcess` (migrator.ts): opens the embedded
// database in the data directory given as argument (creating it if there is none), applies the
// pending migrations, sends the parent the names applied or the error, and exits. A second
// argument, the time a crashed child started, first releases the migration that one was inside of.
import { openDatabase } from './client.ts';
import { EmbeddedDatabaseLockedError } from './embedded.ts';
import { migrate, releaseInterruptedMigrations } from './migrator.ts';

export type MigrateChildMessage =
  | { applied: string[] }
  | { error: { name: string; message: string } }
  | { locked: { dataDir: string; pid: number; command: string | undefined } };

const send = process.send?.bind(process);
if (!send) throw new Error('migrate-child.ts runs as a child process of migrateInChildProcess()');

let message: MigrateChildMessage;
try {
  const [dataDir, afterCrashOf] = process.argv.slice(2);
  const db = await openDatabase({ dataDir: dataDir! });
  try {
    if (afterCrashOf) await releaseInterruptedMigrations(db, new Date(afterCrashOf));
    message = { applied: await migrate(db) };
  } finally {
    await db.close();
  }
} catch (error) {
  if (error instanceof EmbeddedDatabaseLockedError) {
    const { dataDir, pid, command } = error;
    message = { locked: { dataDir, pid, command } };
  } else {
    const { name, message: text } = error instanceof Error ? error : new Error(String(error));
    message = { error: { name, message: text } };
  }
}
send(message, () => process.exit(0));
