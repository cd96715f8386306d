// The helpdesk's tables as the platform's db/schema.rb defines them (only the columns this service
// reads), with production column types in PostgreSQL, and the platform's own conversation indexes.
// Development and test databases only: a production database already has all of this.
import { sql, type ColumnDefinitionBuilder, type Kysely } from 'kysely'
import type { Migration } from 'kysely/migration'
import type { Dialect } from '../dialect.ts'

export function chatwootTables(dialect: Dialect): Migration {
  const t = dialect.types
  const pk = (col: ColumnDefinitionBuilder) => (t.autoIncrement ? col.primaryKey().autoIncrement() : col.primaryKey())

  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('users')
        .addColumn('id', t.serialPk, pk)
        .addColumn('name', 'varchar', (c) => c.notNull())
        .addColumn('display_name', 'varchar')
        .addColumn('email', 'varchar')
        .execute()
      await db.schema.createIndex('index_users_on_email').on('users').column('email').execute()

      await db.schema
        .createTable('access_tokens')
        .addColumn('id', t.bigserialPk, pk)
        .addColumn('owner_type', 'varchar')
        .addColumn('owner_id', t.bigint)
        .addColumn('token', 'varchar')
        .execute()
      await db.schema.createIndex('index_access_tokens_on_token').unique().on('access_tokens').column('token').execute()

      await db.schema
        .createTable('accounts')
        .addColumn('id', t.serialPk, pk)
        .addColumn('name', 'varchar', (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('contacts')
        .addColumn('id', t.serialPk, pk)
        .addColumn('account_id', 'integer', (c) => c.notNull())
        .addColumn('name', 'varchar')
        .addColumn('identifier', 'varchar')
        .execute()
      await db.schema
        .createIndex('uniq_identifier_per_account_contact')
        .unique()
        .on('contacts')
        .columns(['identifier', 'account_id'])
        .execute()

      await db.schema
        .createTable('conversations')
        .addColumn('id', t.serialPk, pk)
        .addColumn('account_id', 'integer', (c) => c.notNull())
        .addColumn('inbox_id', 'integer', (c) => c.notNull())
        .addColumn('display_id', 'integer', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('assignee_id', 'integer')
        .addColumn('contact_id', t.bigint)
        .addColumn('additional_attributes', t.jsonb, (c) => c.defaultTo(sql`'{}'`))
        .addColumn('cached_label_list', 'text')
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute()
      // The conversation indexes production has; note there is none on created_at.
      const indexes: Array<[string, string[], boolean?]> = [
        ['index_conversations_on_account_id', ['account_id']],
        ['index_conversations_on_account_id_and_id', ['account_id', 'id']],
        ['index_conversations_on_account_id_and_display_id', ['account_id', 'display_id'], true],
        ['index_conversations_on_status_and_account_id', ['status', 'account_id']],
        ['index_conversations_on_assignee_id_and_account_id', ['assignee_id', 'account_id']],
        ['index_conversations_on_contact_id', ['contact_id']],
      ]
      for (const [name, columns, unique] of indexes) {
        const index = db.schema.createIndex(name).on('conversations').columns(columns)
        await (unique ? index.unique() : index).execute()
      }

      await db.schema
        .createTable('tags')
        .addColumn('id', t.serialPk, pk)
        .addColumn('name', 'varchar')
        .execute()
      await db.schema.createIndex('index_tags_on_name').unique().on('tags').column('name').execute()

      await db.schema
        .createTable('taggings')
        .addColumn('id', t.serialPk, pk)
        .addColumn('tag_id', 'integer')
        .addColumn('taggable_type', 'varchar')
        .addColumn('taggable_id', 'integer')
        .addColumn('context', 'varchar(128)')
        .execute()
      await db.schema
        .createIndex('taggings_taggable_context_idx')
        .on('taggings')
        .columns(['taggable_id', 'taggable_type', 'context'])
        .execute()

      await db.schema
        .createTable('installation_configs')
        .addColumn('id', t.bigserialPk, pk)
        .addColumn('name', 'varchar', (c) => c.notNull())
        .addColumn('serialized_value', t.jsonb, (c) => c.notNull().defaultTo(sql`'{}'`))
        .addColumn('locked', t.boolean, (c) => c.defaultTo(t.boolean === 'boolean' ? sql`true` : sql`1`))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('index_installation_configs_on_name')
        .unique()
        .on('installation_configs')
        .column('name')
        .execute()
    },
  }
}
