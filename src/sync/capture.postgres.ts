// The change capture in PostgreSQL: a log of what changed, written by triggers on the five tables
// an item of the changes feed shows, each entry stamped with its transaction's id
// (pg_current_xact_id()). The feed takes only entries below the oldest transaction still running
// (pg_snapshot_xmin(pg_current_snapshot())), so a transaction that commits late is never skipped,
// on the primary and on a hot standby alike. Installed by the tables' owner (no superuser, no
// event trigger, no replication slot, no column added to a helpdesk table); its functions run as
// their owner (SECURITY DEFINER), so the platform's own role needs no grant to write the log, and
// nothing in them can make a helpdesk write fail. This file is the whole of its SQL.
import { sql, type RawBuilder } from 'kysely'
import type { CaptureSql, InstallOptions } from './capture.ts'

/** Every object the capture creates, by kind: install creates them, remove drops them, status looks for them. */
export const POSTGRES_CAPTURE_OBJECTS = {
  tables: ['kpi_capture_log', 'kpi_capture_horizons', 'kpi_capture_settings'],
  functions: ['kpi_capture_conversations', 'kpi_capture_reference', 'kpi_capture_taggings', 'kpi_capture_prune'],
  /** table → the trigger names on it */
  triggers: {
    conversations: ['kpi_capture_write', 'kpi_capture_update'],
    users: ['kpi_capture_write', 'kpi_capture_update'],
    contacts: ['kpi_capture_write', 'kpi_capture_update'],
    tags: ['kpi_capture_write', 'kpi_capture_update'],
    taggings: ['kpi_capture_write', 'kpi_capture_update'],
  },
} as const

/** An advisory lock's key: one pruner at a time, the others skip (never wait). */
const PRUNE_LOCK = 2026120201
/** Every this-many log writes on average, a write also prunes a batch of expired entries. */
const PRUNE_ONE_IN = 1000
/** Entries removed by one prune: five times what a thousand writes add, so the log cannot outgrow it. */
const PRUNE_BATCH = 5000

// What a function runs as and where it looks names up: its owner's rights, and only pg_catalog
// (every helpdesk name below is schema-qualified), so a caller's search_path cannot redirect it.
const DEFINER = 'language plpgsql security definer set search_path = pg_catalog, pg_temp'

// The columns of a conversation an item shows (updated_at is its updated_time). An update that
// changes none of them (the platform touches many others) writes no entry.
const SHOWN_CONVERSATION_COLUMNS = [
  'id',
  'account_id',
  'display_id',
  'status',
  'assignee_id',
  'contact_id',
  'created_at',
  'updated_at',
  "additional_attributes -> 'resolved_time'",
  "additional_attributes -> 'reopen_time'",
]
const shown = (row: 'old' | 'new', columns: readonly string[]) => `(${columns.map((column) => `${row}.${column}`).join(', ')})`
const changed = (columns: readonly string[]) => `${shown('old', columns)} is distinct from ${shown('new', columns)}`

/** The statements that install (or reinstall, keeping the log) the capture, run in one transaction. */
function install({ retentionDays, grantTo }: InstallOptions): string[] {
  const triggers = (table: string, fn: string, argument: string, columns: readonly string[]) => [
    `drop trigger if exists kpi_capture_write on public.${table}`,
    `create trigger kpi_capture_write after insert or delete on public.${table} for each row execute function public.${fn}(${argument})`,
    `drop trigger if exists kpi_capture_update on public.${table}`,
    `create trigger kpi_capture_update after update on public.${table} for each row when (${changed(columns)}) execute function public.${fn}(${argument})`,
  ]
  return [
    // Creating a trigger waits for the transactions writing the table: never queue the platform's writes behind it for long.
    "set local lock_timeout = '10s'",
    `create table if not exists public.kpi_capture_log (
       seq bigint generated always as identity primary key,
       xid bigint not null default (pg_catalog.pg_current_xact_id()::text::bigint),
       kind "char" not null,
       ref_id bigint not null,
       account_id integer,
       gone boolean not null default false,
       changed_at timestamptz not null default pg_catalog.clock_timestamp()
     )`,
    `comment on table public.kpi_capture_log is 'kpi-conversations change capture: what changed, by transaction (npm run change-capture -- remove takes it out)'`,
    'create index if not exists kpi_capture_log_xid_seq on public.kpi_capture_log (xid, seq)',
    // When each oldest-running transaction id was seen: the pruner removes entries only below one seen a retention ago.
    'create table if not exists public.kpi_capture_horizons (at timestamptz primary key, oldest_xid bigint not null)',
    `create table if not exists public.kpi_capture_settings (
       one boolean primary key default true check (one),
       version integer not null,
       retention_days numeric not null check (retention_days > 0),
       installed_at timestamptz not null default pg_catalog.now()
     )`,
    `insert into public.kpi_capture_settings (version, retention_days) values (${CAPTURE_VERSION}, ${Number(retentionDays)})
       on conflict (one) do update set version = excluded.version, retention_days = excluded.retention_days`,
    // Prunes a batch of entries older than the retention. Below the oldest transaction id seen
    // running a retention ago, no entry can belong to a cursor still within the retention (an
    // entry written since then has a larger id). Never fails the write that called it.
    `create or replace function public.kpi_capture_prune() returns void ${DEFINER} as $$
     declare
       keep interval;
       horizon bigint;
     begin
       if not pg_try_advisory_xact_lock(${PRUNE_LOCK}) then return; end if;
       select make_interval(secs => retention_days * 86400) into keep from public.kpi_capture_settings;
       if not exists (select 1 from public.kpi_capture_horizons where at > clock_timestamp() - interval '10 minutes') then
         -- The snapshot is older than the clock read after it: the id recorded is at most what was running at that time.
         insert into public.kpi_capture_horizons (at, oldest_xid) values (clock_timestamp(), pg_snapshot_xmin(pg_current_snapshot())::text::bigint);
       end if;
       select h.oldest_xid into horizon from public.kpi_capture_horizons h where h.at <= clock_timestamp() - keep order by h.at desc limit 1;
       if horizon is null then return; end if;
       delete from public.kpi_capture_log where seq in (select seq from public.kpi_capture_log where xid < horizon order by xid, seq limit ${PRUNE_BATCH});
       delete from public.kpi_capture_horizons where at < (select max(at) from public.kpi_capture_horizons where at <= clock_timestamp() - keep);
     exception when others then
       return;
     end $$`,
    // A conversation inserted, changed or deleted; one that leaves an account (or its id) leaves a
    // 'gone' entry for the old one first.
    `create or replace function public.kpi_capture_conversations() returns trigger ${DEFINER} as $$
     begin
       if tg_op = 'DELETE' or (tg_op = 'UPDATE' and (old.id, old.account_id) is distinct from (new.id, new.account_id)) then
         insert into public.kpi_capture_log (kind, ref_id, account_id, gone) values ('c', old.id, old.account_id, true);
       end if;
       if tg_op <> 'DELETE' then
         insert into public.kpi_capture_log (kind, ref_id, account_id) values ('c', new.id, new.account_id);
       end if;
       if random() < ${1 / PRUNE_ONE_IN} then perform public.kpi_capture_prune(); end if;
       return null;
     end $$`,
    // A user, contact or tag (TG_ARGV[0]: u, k or t) whose shown fields changed: the feed delivers
    // again every conversation that refers to it, in its state when the feed reads it.
    `create or replace function public.kpi_capture_reference() returns trigger ${DEFINER} as $$
     begin
       if tg_op <> 'INSERT' then
         insert into public.kpi_capture_log (kind, ref_id) values (tg_argv[0]::"char", old.id);
       end if;
       if tg_op <> 'DELETE' and (tg_op = 'INSERT' or new.id <> old.id) then
         insert into public.kpi_capture_log (kind, ref_id) values (tg_argv[0]::"char", new.id);
       end if;
       if random() < ${1 / PRUNE_ONE_IN} then perform public.kpi_capture_prune(); end if;
       return null;
     end $$`,
    // A label added to or taken from a conversation (a tagging of a Conversation, before or after),
    // with the conversation's account, so that the feed skips other accounts' labels without reading them.
    `create or replace function public.kpi_capture_taggings() returns trigger ${DEFINER} as $$
     begin
       if tg_op <> 'INSERT' and old.taggable_type = 'Conversation' and old.taggable_id is not null then
         insert into public.kpi_capture_log (kind, ref_id, account_id)
           values ('c', old.taggable_id, (select c.account_id from public.conversations c where c.id = old.taggable_id));
       end if;
       if tg_op <> 'DELETE' and new.taggable_type = 'Conversation' and new.taggable_id is not null
          and (tg_op = 'INSERT' or old.taggable_type is distinct from 'Conversation' or old.taggable_id is distinct from new.taggable_id) then
         insert into public.kpi_capture_log (kind, ref_id, account_id)
           values ('c', new.taggable_id, (select c.account_id from public.conversations c where c.id = new.taggable_id));
       end if;
       if random() < ${1 / PRUNE_ONE_IN} then perform public.kpi_capture_prune(); end if;
       return null;
     end $$`,
    ...triggers('conversations', 'kpi_capture_conversations', '', SHOWN_CONVERSATION_COLUMNS),
    ...triggers('users', 'kpi_capture_reference', "'u'", ['id', 'name', 'email']),
    ...triggers('contacts', 'kpi_capture_reference', "'k'", ['id', 'identifier']),
    ...triggers('tags', 'kpi_capture_reference', "'t'", ['id', 'name']),
    ...triggers('taggings', 'kpi_capture_taggings', '', ['id', 'tag_id', 'taggable_type', 'taggable_id', 'context']),
    // Only the installer calls these (triggers run them as their owner).
    ...POSTGRES_CAPTURE_OBJECTS.functions.map((name) => `revoke all on function public.${name}() from public`),
    ...(grantTo ? [`grant select on public.kpi_capture_log, public.kpi_capture_settings to ${quoteIdentifier(grantTo)}`] : []),
  ]
}

function remove(): string[] {
  return [
    "set local lock_timeout = '10s'",
    ...Object.entries(POSTGRES_CAPTURE_OBJECTS.triggers).flatMap(([table, names]) => names.map((name) => `drop trigger if exists ${name} on public.${table}`)),
    ...POSTGRES_CAPTURE_OBJECTS.functions.map((name) => `drop function if exists public.${name}()`),
    ...POSTGRES_CAPTURE_OBJECTS.tables.map((name) => `drop table if exists public.${name}`),
  ]
}

/** `name` as a quoted identifier (a role name given on the command line). */
function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** The version of the capture's objects this service reads; install writes it into kpi_capture_settings. */
export const CAPTURE_VERSION = 1

export const postgresCapture: CaptureSql = {
  install,
  remove,
  presence: sql`
    select
      (select count(*) from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relname = any(${`{${POSTGRES_CAPTURE_OBJECTS.tables.join(',')}}`}::text[])) as tables,
      (select count(*) from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'public' and p.proname = any(${`{${POSTGRES_CAPTURE_OBJECTS.functions.join(',')}}`}::text[])) as functions,
      (select count(*) from pg_catalog.pg_trigger t join pg_catalog.pg_class c on c.oid = t.tgrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and not t.tgisinternal and t.tgname like 'kpi\\_capture\\_%') as triggers,
      coalesce(pg_catalog.has_table_privilege(pg_catalog.to_regclass('public.kpi_capture_log'), 'select'), false)
        and coalesce(pg_catalog.has_table_privilege(pg_catalog.to_regclass('public.kpi_capture_settings'), 'select'), false) as readable`,
  expected: {
    tables: POSTGRES_CAPTURE_OBJECTS.tables.length,
    functions: POSTGRES_CAPTURE_OBJECTS.functions.length,
    triggers: Object.values(POSTGRES_CAPTURE_OBJECTS.triggers).flat().length,
  },
  transactionOf: (log) => sql<number>`${log}.xid`,
  watermark: sql<number>`pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::bigint`,
  // now(): the transaction's start, before its snapshot was taken (a cursor's time must not be later than what it saw).
  nowEpoch: sql<number>`extract(epoch from pg_catalog.now())::float8`,
  epoch: (column) => sql<number>`extract(epoch from ${column})::float8`,
  // A standby that has replayed no commit since it started knows no time its data is complete to: 0, so nothing new is served until it does.
  replayedEpoch: sql<number | null>`case when pg_catalog.pg_is_in_recovery() then coalesce(extract(epoch from pg_catalog.pg_last_xact_replay_timestamp())::float8, 0) end`,
  labelsJson: (conversationId: RawBuilder<unknown>) =>
    sql<string>`to_json(array(select t.name from taggings tg join tags t on t.id = tg.tag_id
      where tg.taggable_id = ${conversationId} and tg.taggable_type = 'Conversation' and tg.context = 'labels' and t.name is not null order by tg.id))`,
}
