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
}

const facts = new WeakMap<Request, RequestFacts>()

export function factsOf(request: Request): RequestFacts {
  let found = facts.get(request)
  if (!found) facts.set(request, (found = {}))
  return found
}
