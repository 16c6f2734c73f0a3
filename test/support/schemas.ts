/** Throw-away PostgreSQL schemas, so that test files sharing one database never see each other's rows. */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export function freshSchemaName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
