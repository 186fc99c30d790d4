import { skewFromDateHeader } from '../shared/clock-skew.js';

/**
 * How far the apiserver's clock is ahead of ours, from the `Date` header of an answer to a call sent at `sentAt`
 * (0 when it has none or cannot tell). Object timestamps are on the apiserver's clock; subtract this to compare
 * them with ours.
 */
export function apiserverSkewMs(headers: Record<string, string | string[] | undefined>, sentAt: number): number {
  const raw = headers['date'];
  const date = Date.parse(Array.isArray(raw) ? (raw[0] ?? '') : (raw ?? ''));
  return skewFromDateHeader(date, sentAt, Date.now());
}
