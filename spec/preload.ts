// Loaded before every spec file (bunfig.toml). The suite runs in a time zone that is not UTC,
// whoever starts it and however: every spec then also proves that times are handled as UTC.
import { setDefaultTimeout } from 'bun:test'

process.env.TZ ||= 'America/Sao_Paulo'

// Starting the service as a process, seeding a throwaway PostgreSQL, driving the browser take
// longer than Bun's default of 5 s, the more so on a loaded machine; a spec that needs more says so.
setDefaultTimeout(60_000)
