/** Time is injected so tests can move it (expiry, rate-limit windows) without sleeping. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };
