// The change capture in SQLite (the demo and the specs): the same log as in PostgreSQL, written by
// triggers on the same five tables. SQLite runs one writing transaction at a time, so the log's
// own order (seq) is the order of commits and a reader never meets a late one: an entry's
// "transaction" is its seq, and the watermark is the next seq. This file is the whole of its SQL.
import { sql, type RawBuilder } from 'kysely'
import type { CaptureSql, InstallOptions } from './capture.ts'
import { CAPTURE_VERSION } from './capture.postgres.ts'

/** SQLite's trigger names are global: table and event in each. */
const TRIGGERS = ['conversations', 'users', 'contacts', 'tags', 'taggings'].flatMap((table) => ['insert', 'update', 'delete'].map((event) => `kpi_capture_${table}_${event}`))
const TABLES = ['kpi_capture_log', 'kpi_capture_settings'] as const
const PRUNE_TRIGGER = 'kpi_capture_prune'

/** Every this-many entries, one insert also removes a batch of expired ones. */
const PRUNE_EVERY = 1000
const PRUNE_BATCH = 5000

const NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"

// additional_attributes is text here, possibly not JSON at all (json_extract would then fail the
// platform's write): any change of it counts.
const SHOWN_CONVERSATION_COLUMNS = ['id', 'account_id', 'display_id', 'status', 'assignee_id', 'contact_id', 'created_at', 'updated_at', 'additional_attributes']
const changed = (columns: readonly string[]) => `(${columns.map((c) => `old.${c}`).join(', ')}) is not (${columns.map((c) => `new.${c}`).join(', ')})`

function install({ retentionDays }: InstallOptions): string[] {
  const log = (kind: string, ref: string, account = 'null', gone = 0) =>
    `insert into kpi_capture_log (kind, ref_id, account_id, gone) values ('${kind}', ${ref}, ${account}, ${gone});`
  /** A user, contact or tag: the conversations that show it come again. */
  const reference = (table: string, kind: string, columns: readonly string[]) => [
    `create trigger kpi_capture_${table}_insert after insert on ${table} begin ${log(kind, 'new.id')} end`,
    `create trigger kpi_capture_${table}_delete after delete on ${table} begin ${log(kind, 'old.id')} end`,
    `create trigger kpi_capture_${table}_update after update on ${table} when ${changed(columns)} begin
       ${log(kind, 'old.id')}
       insert into kpi_capture_log (kind, ref_id) select '${kind}', new.id where new.id is not old.id;
     end`,
  ]
  // A label added to or taken from a conversation, with the conversation's account.
  const labelled = (row: 'old' | 'new') => `select 'c', ${row}.taggable_id, (select account_id from conversations where id = ${row}.taggable_id)`
  const conversationTagging = (row: 'old' | 'new') =>
    `insert into kpi_capture_log (kind, ref_id, account_id) ${labelled(row)} where ${row}.taggable_type = 'Conversation' and ${row}.taggable_id is not null;`
  return [
    // Triggers are made anew; the log (and the positions cursors hold in it) is kept.
    ...[...TRIGGERS, PRUNE_TRIGGER].map((name) => `drop trigger if exists ${name}`),
    `create table if not exists kpi_capture_log (
       seq integer primary key autoincrement,
       kind text not null,
       ref_id integer not null,
       account_id integer,
       gone integer not null default 0,
       changed_at text not null default (${NOW})
     )`,
    `create table if not exists kpi_capture_settings (
       one integer primary key check (one = 1),
       version integer not null,
       retention_days real not null check (retention_days > 0),
       installed_at text not null default (${NOW})
     )`,
    `insert or replace into kpi_capture_settings (one, version, retention_days) values (1, ${CAPTURE_VERSION}, ${Number(retentionDays)})`,
    `create trigger kpi_capture_conversations_insert after insert on conversations begin ${log('c', 'new.id', 'new.account_id')} end`,
    `create trigger kpi_capture_conversations_delete after delete on conversations begin ${log('c', 'old.id', 'old.account_id', 1)} end`,
    `create trigger kpi_capture_conversations_update after update on conversations when ${changed(SHOWN_CONVERSATION_COLUMNS)} begin
       insert into kpi_capture_log (kind, ref_id, account_id, gone) select 'c', old.id, old.account_id, 1 where (old.id, old.account_id) is not (new.id, new.account_id);
       ${log('c', 'new.id', 'new.account_id')}
     end`,
    ...reference('users', 'u', ['id', 'name', 'email']),
    ...reference('contacts', 'k', ['id', 'identifier']),
    ...reference('tags', 't', ['id', 'name']),
    `create trigger kpi_capture_taggings_insert after insert on taggings begin ${conversationTagging('new')} end`,
    `create trigger kpi_capture_taggings_delete after delete on taggings begin ${conversationTagging('old')} end`,
    `create trigger kpi_capture_taggings_update after update on taggings when ${changed(['id', 'tag_id', 'taggable_type', 'taggable_id', 'context'])} begin
       ${conversationTagging('old')}
       insert into kpi_capture_log (kind, ref_id, account_id) ${labelled('new')} where new.taggable_type = 'Conversation' and new.taggable_id is not null
         and (old.taggable_type is not 'Conversation' or old.taggable_id is not new.taggable_id);
     end`,
    // Entries in SQLite are written in commit order, so their time only grows: those older than the retention go.
    `create trigger ${PRUNE_TRIGGER} after insert on kpi_capture_log when new.seq % ${PRUNE_EVERY} = 0 begin
       delete from kpi_capture_log where seq in (
         select seq from kpi_capture_log
         where changed_at < strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (select retention_days * 86400 from kpi_capture_settings) || ' seconds')
         order by seq limit ${PRUNE_BATCH});
     end`,
  ]
}

function remove(): string[] {
  return [...[...TRIGGERS, PRUNE_TRIGGER].map((name) => `drop trigger if exists ${name}`), ...TABLES.map((name) => `drop table if exists ${name}`)]
}

export const sqliteCapture: CaptureSql = {
  install,
  remove,
  presence: sql`
    select
      (select count(*) from sqlite_master where type = 'table' and name in (${sql.join(TABLES)})) as tables,
      0 as functions,
      (select count(*) from sqlite_master where type = 'trigger' and name like 'kpi\\_capture\\_%' escape '\\') as triggers,
      1 as readable`,
  expected: { tables: TABLES.length, functions: 0, triggers: TRIGGERS.length + 1 },
  transactionOf: (log) => sql<number>`${log}.seq`,
  // AUTOINCREMENT's high-water mark, not max(seq): pruning may have emptied the log, never this.
  watermark: sql<number>`(coalesce((select seq from sqlite_sequence where name = 'kpi_capture_log'), 0) + 1)`,
  nowEpoch: sql<number>`((julianday('now') - 2440587.5) * 86400.0)`,
  epoch: (column) => sql<number>`((julianday(${column}) - 2440587.5) * 86400.0)`,
  replayedEpoch: sql<null>`null`,
  labelsJson: (conversationId: RawBuilder<unknown>) =>
    sql<string>`(select json_group_array(name) from (select t.name from taggings tg join tags t on t.id = tg.tag_id
      where tg.taggable_id = ${conversationId} and tg.taggable_type = 'Conversation' and tg.context = 'labels' and t.name is not null order by tg.id))`,
}
