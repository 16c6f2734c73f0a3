/**
 * One migrated PGlite database per test run: made by the global setup and
 * loaded by every embedded store a test opens, so that each does not spend
 * ten seconds installing PostGIS and the migrations.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migratedTemplate } from '../../packages/store/src/pgliteDriver';

const VARIABLE = 'CIVITAS_TEST_PGLITE_TEMPLATE';

export async function makeTemplate(): Promise<void> {
  const path = join(tmpdir(), `civitas-pglite-template-${process.pid}.tar`);
  writeFileSync(path, Buffer.from(await (await migratedTemplate()).arrayBuffer()));
  // Set before the workers start: they inherit it.
  process.env[VARIABLE] = path;
}

export function removeTemplate(): void {
  const path = process.env[VARIABLE];
  if (path) rmSync(path, { force: true });
}

let loaded: Blob | undefined;

/** The run's template, or undefined when the tests run without the global setup (a new database is then migrated). */
export function pgliteTemplate(): Blob | undefined {
  const path = process.env[VARIABLE];
  if (!path) return undefined;
  loaded ??= new Blob([readFileSync(path)]);
  return loaded;
}
