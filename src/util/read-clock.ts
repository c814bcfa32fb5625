// The time of the socket read being handled, for decisions made while it is: a rate limit's clock.
// Date.now() costs about 190 instructions here (a runtime call and a new heap number, callgrind),
// and the engine reads it already when a read arrives; a decision made within that read's
// handling is microseconds later. nginx does the same for the same reason: it reads its clock once
// per turn of its event loop (ngx_time_update) and decides with the cached value. As there, a
// handler that runs long within a read leaves the time that much behind for the requests after it
// in the same read: a rate decision among them is dated early, and its key's next request finds
// up to that much more allowance. Outside a read
// (a promise's continuation, a timer, another process's request) the clock is read anew.

// The read's time, 0 outside a read (Date.now() is never 0). A typed array's slot, not a module
// variable: a double stored in a variable is a new heap number per read (about 90 instructions on
// every request, callgrind), in the slot it is stored as it is.
const READ_AT = new Float64Array(1);

/** Date.now(), or the time of the read whose handling this is. */
export function readClock(): number {
  const at = READ_AT[0]!;
  return at !== 0 ? at : Date.now();
}

/** The engine starts handling a read that arrived at `now` (Date.now()). */
export function enterRead(now: number): void {
  READ_AT[0] = now;
}

/** The read is handled (call in a finally: a read that throws must not leave its time behind). */
export function leaveRead(): void {
  READ_AT[0] = 0;
}
