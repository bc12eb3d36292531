/**
 * Downloading an export of users (`POST /export/{realm}/users`, bearer token, `users:export`).
 * Where the browser can write a file as it arrives (the File System Access API: Chromium), the
 * response is piped to the file the administrator picks, so memory stays flat whatever the size;
 * elsewhere it is gathered into a Blob first, which the browser then saves (a same-origin `blob:`
 * link with `download`: navigations are not governed by the console's CSP).
 */
import { accessToken, currentSession, publicUrl } from './auth.ts';
import { exportFileName, type ExportFormat } from './bulk.ts';
import type { UserFilter } from './generated/graphql.ts';

/** Why the export failed, as the API said it. */
class ExportError extends Error {}

interface SaveFilePicker {
  showSaveFilePicker?: (options: {
    suggestedName: string;
    types: { description: string; accept: Record<string, string[]> }[];
  }) => Promise<{ createWritable(): Promise<WritableStream<Uint8Array>> }>;
}

const TYPES: Record<ExportFormat, { description: string; accept: Record<string, string[]> }> = {
  csv: { description: 'CSV', accept: { 'text/csv': ['.csv'] } },
  ndjson: { description: 'NDJSON', accept: { 'application/x-ndjson': ['.ndjson'] } },
};

/**
 * Exports the users `filter` selects as `format`, with the columns `fields` (the API's default
 * when null); resolves to the file's name once it is written.
 */
export async function downloadExport(
  filter: UserFilter,
  format: ExportFormat,
  fields: string[] | null = null,
): Promise<string | null> {
  const realm = currentSession()?.realm ?? 'default';
  const request = async (token: string | null) =>
    fetch(`${publicUrl}/export/${encodeURIComponent(realm)}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ format, filter, ...(fields && { fields }) }),
      signal: controller.signal,
    });
  const controller = new AbortController();
  let response = await request(await accessToken());
  if (response.status === 401) response = await request(await accessToken(true));
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    throw new ExportError(body?.error?.message ?? `Roster answered ${response.status}.`);
  }
  const name = exportFileName(response.headers.get('content-disposition'), realm, format);
  const picker = (window as SaveFilePicker).showSaveFilePicker;
  if (picker) {
    let file: Awaited<ReturnType<typeof picker>> | null = null;
    try {
      file = await picker({ suggestedName: name, types: [TYPES[format]] });
    } catch (error) {
      // Cancelled by the administrator: nothing to save. Refused (the click's user activation
      // ran out while Roster answered): saved the other way.
      if (error instanceof DOMException && error.name === 'AbortError') {
        controller.abort();
        return null;
      }
    }
    if (file) {
      await response.body.pipeTo(await file.createWritable());
      return name;
    }
  }
  const blob = await response.blob();
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  return name;
}
