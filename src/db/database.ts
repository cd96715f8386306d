// Kysely's view of the helpdesk tables this service reads: only the columns it needs
// (real tables have many more). Names and nullability follow the platform's db/schema.rb.
import type { ColumnType, Generated, Insertable, Kysely } from 'kysely'

/**
 * jsonb in PostgreSQL, JSON text in SQLite. Both drivers hand it over as JSON text (see dialect.ts),
 * so the repository parses it in one place; inserts take the JSON text too.
 */
type JsonText = ColumnType<string, string | undefined, string>

/** `timestamp without time zone` holding UTC (TEXT in SQLite); read and written as text, see dialect.ts. */
type Timestamp = ColumnType<string, string, string>

export interface UsersTable {
  id: Generated<number>
  name: string
  display_name: string | null
  email: string | null
}

export interface AccessTokensTable {
  id: Generated<number>
  owner_type: string | null
  owner_id: number | null
  token: string | null
}

export interface AccountsTable {
  id: Generated<number>
  name: string
}

export interface ContactsTable {
  id: Generated<number>
  account_id: number
  name: string | null
  identifier: string | null
}

export interface ConversationsTable {
  id: Generated<number>
  account_id: number
  inbox_id: number
  display_id: number
  status: ColumnType<number, number | undefined, number>
  assignee_id: number | null
  contact_id: number | null
  additional_attributes: JsonText
  cached_label_list: string | null
  created_at: Timestamp
  updated_at: Timestamp
  /**
   * When the conversation got its first reply (the platform sets it; UTC, nullable). A real
   * database may not have the column: the metrics check (metrics.repository's hasFirstReplyColumn).
   */
  first_reply_created_at?: ColumnType<string | null, string | null | undefined, string | null>
}

export interface TagsTable {
  id: Generated<number>
  name: string | null
}

export interface TaggingsTable {
  id: Generated<number>
  tag_id: number | null
  taggable_type: string | null
  taggable_id: number | null
  context: string | null
}

export interface InstallationConfigsTable {
  id: Generated<number>
  name: string
  serialized_value: JsonText
  locked: ColumnType<boolean | number | null, boolean | undefined, boolean>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface Database {
  users: UsersTable
  access_tokens: AccessTokensTable
  accounts: AccountsTable
  contacts: ContactsTable
  conversations: ConversationsTable
  tags: TagsTable
  taggings: TaggingsTable
  installation_configs: InstallationConfigsTable
}

export type DB = Kysely<Database>

export type NewUser = Insertable<UsersTable>
export type NewAccessToken = Insertable<AccessTokensTable>
export type NewAccount = Insertable<AccountsTable>
export type NewContact = Insertable<ContactsTable>
export type NewConversation = Insertable<ConversationsTable>
export type NewTag = Insertable<TagsTable>
export type NewTagging = Insertable<TaggingsTable>
