// Loaded before every spec file (bunfig.toml). The suite runs in a time zone that is not UTC,
// whoever starts it and however: every spec then also proves that times are handled as UTC.
process.env.TZ ||= 'America/Sao_Paulo'
