/**
 * How far another host's clock is ahead of ours, from the HTTP `Date` header of an answer to a call we sent at
 * `sentAt` and received at `receivedAt` (all epoch ms; `headerDateMs` is the parsed header).
 *
 * The header has one-second resolution: the host wrote it at some instant in [date, date + 1000). Together with
 * the call's own duration that gives a window for the skew; when the window holds 0 we cannot tell the clocks
 * apart and answer 0. Otherwise we answer the window's edge nearest to 0, the smallest skew the header proves:
 * an estimate that overshoots would make a fresh VM look older than it is (and an old one fresh), and the
 * callers compare ages against tolerances of seconds, which a sub-second error cannot cross.
 */
export function skewFromDateHeader(headerDateMs: number, sentAt: number, receivedAt: number): number {
  if (!Number.isFinite(headerDateMs)) return 0;
  const lowest = headerDateMs - receivedAt; // written at `date`, as late as we could have seen it
  const highest = headerDateMs + 1000 - sentAt; // written just before the next second, as early as possible
  if (lowest <= 0 && highest >= 0) return 0;
  return lowest > 0 ? lowest : highest;
}
