import { vi } from 'vitest';

/** Runs `work` with the clock (`Date` only) at `instant`, as if the runtime had acted then. */
export async function at<T>(instant: string, work: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date(instant));
  try {
    return await work();
  } finally {
    vi.useRealTimers();
  }
}
