// Seeds a PostgreSQL database for the benchmark, fast and deterministically: set-based
// INSERT … SELECT FROM generate_series, in batches (with a progress bar), every "random" choice a
// hash of the row number (hashint8), so the same flags give the same data on every run.
// Conversations' created_at grows with their id, as it does on a real helpdesk.
import { sql, type Kysely } from 'kysely'
import { installationConfigRow, serializedAccountIds } from '../fixtures/insert.ts'
import { DEMO_TOKEN, LABEL_NAMES } from '../fixtures/demo-data-set.ts'
import type { Database } from '../src/db/database.ts'

export interface BenchSeedOptions {
  readonly conversations: number
  readonly accounts: number
  readonly vbetAccounts: number
  /** created_at spans the `days` before `anchor`. */
  readonly days: number
  readonly anchor: Date
  readonly batch?: number
  readonly onProgress?: (done: number, total: number) => void
}

/** A deterministic pseudo-random integer in [0, modulo) for row `i` and a salt. */
const h = (i: string, salt: number, modulo: number) => `((hashint8(${i}::bigint * 7919 + ${salt}) & 2147483647) % ${modulo})`

export async function seedBenchmark(db: Kysely<Database>, options: BenchSeedOptions): Promise<void> {
  const { conversations: total, accounts, vbetAccounts, days } = options
  const batch = options.batch ?? 100_000
  const agents = 200
  const contacts = Math.max(1, Math.ceil(total / 3))
  const anchor = options.anchor.toISOString().replace('T', ' ').replace('Z', '')
  const spanSeconds = days * 86_400
  const run = (text: string) => sql.raw(text).execute(db)

  await run(`insert into accounts (id, name) select a, 'Account ' || a from generate_series(1, ${accounts}) a`)
  await run(`insert into users (id, name, email) values (1, 'KPI Tracker', 'kpi_tracker@vbet.com')`)
  await run(`insert into users (id, name, email) select u, 'Agent ' || u, 'agent' || u || '@example.com' from generate_series(2, ${agents + 1}) u`)
  await run(`insert into access_tokens (owner_type, owner_id, token) values ('User', 1, '${DEMO_TOKEN}')`)
  await run(`insert into access_tokens (owner_type, owner_id, token) select 'User', u, md5('agent-token-' || u) from generate_series(2, ${agents + 1}) u`)
  await run(`insert into tags (id, name) values ${LABEL_NAMES.map((name, index) => `(${index + 1}, '${name}')`).join(', ')}`)
  await run(`insert into contacts (id, account_id, name, identifier)
    select c, 1 + ${h('c', 1, accounts)}, 'Contact ' || c, 'ext-' || c from generate_series(1, ${contacts}) c`)
  const vbet = Array.from({ length: vbetAccounts }, (_, index) => index + 1).join(',')
  await db.insertInto('installation_configs').values(installationConfigRow(serializedAccountIds(vbet), { at: anchor })).execute()

  for (let lo = 1; lo <= total; lo += batch) {
    const hi = Math.min(total, lo + batch - 1)
    // created_at: evenly through the span, in id order, with up to 60 s of jitter and a fraction.
    const createdAt = `(timestamp '${anchor}' - interval '${spanSeconds} seconds' + (i::double precision * ${spanSeconds} / ${total} + ${h('i', 2, 60_000)} / 1000.0) * interval '1 second')`
    // first_reply_created_at: four in five answered, 15 s to 2 h after creation.
    await run(`insert into conversations (id, account_id, inbox_id, display_id, status, assignee_id, contact_id, additional_attributes, cached_label_list, created_at, updated_at, first_reply_created_at)
      select i, account_id, 1, i, status, assignee_id, contact_id,
        case when status = 1 then jsonb_build_object('browser_language', 'en', 'resolved_time',
          to_char(created_at + (60 + ${h('i', 5, 172_800)}) * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
          else '{"browser_language":"en"}'::jsonb end,
        null, created_at, created_at,
        case when ${h('i', 11, 100)} < 80 then created_at + (15 + ${h('i', 12, 7200)}) * interval '1 second' end
      from (
        select i, 1 + ${h('i', 1, accounts)} as account_id,
          case when ${h('i', 3, 100)} < 55 then 1 when ${h('i', 3, 100)} < 80 then 0 when ${h('i', 3, 100)} < 90 then 2 else 3 end as status,
          case when ${h('i', 4, 100)} < 80 then 2 + ${h('i', 6, agents)} end as assignee_id,
          case when ${h('i', 7, 100)} < 85 then 1 + ${h('i', 8, contacts)} end as contact_id,
          ${createdAt} as created_at
        from generate_series(${lo}, ${hi}) i
      ) generated`)
    // 0 to 3 labels a conversation (40% none), as the demo data set has them.
    await run(`insert into taggings (tag_id, taggable_type, taggable_id, context)
      select distinct on (i, tag_id) tag_id, 'Conversation', i, 'labels' from (
        select i, k, 1 + ${h('i * 4 + k', 9, LABEL_NAMES.length)} as tag_id
        from generate_series(${lo}, ${hi}) i, generate_series(1, 3) k
        where k <= case when ${h('i', 10, 100)} < 40 then 0 when ${h('i', 10, 100)} < 75 then 1 when ${h('i', 10, 100)} < 93 then 2 else 3 end
      ) picked order by i, tag_id`)
    options.onProgress?.(hi, total)
  }
  await run(`select setval(pg_get_serial_sequence('conversations', 'id'), ${total})`)
}
