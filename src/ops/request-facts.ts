// What the layers learn about a request, for its one log line: its id (set by the HTTP handler)
// and how many items it served (set by the route). Keyed by the Request object, so nothing leaks
// between requests and nothing outlives them.

export interface RequestFacts {
  id?: string
  items?: number
  /** Set when the request's token was missing, unknown or not the KPI tracker's (limited per address). */
  authFailed?: boolean
  /** Set when the answer is a streamed export: in flight until its last byte is read. */
  streamed?: boolean
  /** Accounts a streamed export of several went on without: removed from the VBET allowlist on its way. */
  accountsRemoved?: number[]
}

const facts = new WeakMap<Request, RequestFacts>()

/** For an export's allowlist watch: the accounts it went on without, noted for the line that says how it ended. */
export function noteAccountsRemoved(request: Request): (removed: readonly number[]) => void {
  return (removed) => {
    const known = factsOf(request)
    known.accountsRemoved = [...new Set([...(known.accountsRemoved ?? []), ...removed])].sort((a, b) => a - b)
  }
}

export function factsOf(request: Request): RequestFacts {
  let found = facts.get(request)
  if (!found) facts.set(request, (found = {}))
  return found
}
