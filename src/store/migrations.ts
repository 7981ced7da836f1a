import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { KINDS } from '../domain/entities.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * The schema, written once for both dialects. Types are the portable `text` and `integer`;
 * the only difference is that PostgreSQL keys sort by code point (`COLLATE "C"`), as SQLite's do,
 * so listings, cursors and exports order the same on both.
 */
export function migrations(dialect: Dialect): MigrationProvider {
  const key = dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  const all: Record<string, Migration> = {
    '0001_objects': {
      async up(db: Kysely<unknown>) {
        for (const kind of KINDS) {
          let table = db.schema
            .createTable(kind)
            .addColumn('id', 'text', (c) => c.primaryKey())
            .addColumn('name', key, (c) => c.notNull())
            .addColumn('is_active', 'integer', (c) => c.notNull())
            .addColumn('data', 'text', (c) => c.notNull())
            .addColumn('created_at', 'text', (c) => c.notNull())
            .addColumn('updated_at', 'text', (c) => c.notNull());
          if (kind === 'resources') table = table.addColumn('uri', key, (c) => c.notNull().unique());
          else table = table.addUniqueConstraint(`${kind}_name_unique`, ['name']);
          if (kind === 'tools') table = table.addColumn('gateway', 'text');
          await table.execute();
        }
        await db.schema.createIndex('tools_gateway_idx').on('tools').column('gateway').execute();
        await db.schema
          .createTable('object_tags')
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('object_id', 'text', (c) => c.notNull())
          .addColumn('tag', key, (c) => c.notNull())
          .addPrimaryKeyConstraint('object_tags_pk', ['kind', 'object_id', 'tag'])
          .execute();
        await db.schema.createIndex('object_tags_tag_idx').on('object_tags').columns(['kind', 'tag']).execute();
        await db.schema
          .createTable('settings')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
      },
    },
    // Issue 11 (access): stored API tokens and the audit trail.
    '0002_i11_access': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', key, (c) => c.notNull().unique())
          .addColumn('hash', 'text', (c) => c.notNull().unique())
          .addColumn('prefix', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('servers', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text')
          .addColumn('last_used_at', 'text')
          .addColumn('revoked_at', 'text')
          .execute();
        await db.schema
          .createTable('audit_events')
          .addColumn('id', key, (c) => c.primaryKey())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('actor_subject', 'text')
          .addColumn('actor_method', 'text')
          .addColumn('actor_token_id', 'text')
          .addColumn('source', 'text')
          .addColumn('request_id', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('object_id', 'text')
          .addColumn('object_name', 'text')
          .addColumn('fields', 'text')
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('count', 'integer', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('audit_events_at_idx').on('audit_events').column('at').execute();
      },
    },
    '0003_i11_audit_duration': {
      async up(db: Kysely<unknown>) {
        // How long an audited tool call took (AUDIT_TOOL_CALLS); null for every other event.
        await db.schema.alterTable('audit_events').addColumn('duration_ms', 'integer').execute();
      },
    },
  };
  return { getMigrations: async () => all };
}
