// fleet/athena.sql read as Athena reads it (columns, partitions, SerDe, table properties), and the
// same table made in DuckDB (npm @duckdb/node-api) over local NDJSON: the DDL's column names and
// Hive types become DuckDB's read_json column types, so what DuckDB reads is what the DDL declares.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { repoRoot } from '../../support/fixtures.js';

export interface Column {
  name: string;
  /** The Hive type as written, without spaces (struct field names keep their case). */
  type: string;
  /** Written in backticks. */
  quoted: boolean;
}

export interface AthenaTable {
  name: string;
  columns: Column[];
  partitions: Column[];
  serde: string;
  location: string;
  properties: Record<string, string>;
}

export const ddlPath = path.join(repoRoot, 'fleet', 'athena.sql');

/** Splits on commas outside <...>, (...) and '...'. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "'") quoted = !quoted;
    else if (quoted) continue;
    else if (c === '<' || c === '(') depth++;
    else if (c === '>' || c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out.map((x) => x.trim()).filter(Boolean);
}

/** The text between the parenthesis at `open` and its match. */
function parenthesized(s: string, open: number): string {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return s.slice(open + 1, i);
  }
  throw new Error('unbalanced parentheses in the DDL');
}

function column(def: string): Column {
  const m = /^(`?)(\w+)\1\s+(.+)$/s.exec(def);
  if (!m) throw new Error(`not a column definition: ${def}`);
  return { name: m[2]!, type: m[3]!.replace(/\s+/g, ''), quoted: m[1] === '`' };
}

export function parseDdl(sql = readFileSync(ddlPath, 'utf8')): AthenaTable {
  const text = sql.replace(/--[^\n]*/g, '');
  const head = /CREATE\s+EXTERNAL\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\(/i.exec(text);
  if (!head) throw new Error('no CREATE EXTERNAL TABLE');
  const cols = parenthesized(text, head.index + head[0].length - 1);
  const rest = text.slice(head.index + head[0].length + cols.length);
  const part = /PARTITIONED\s+BY\s*\(/i.exec(rest);
  const serde = /ROW\s+FORMAT\s+SERDE\s+'([^']+)'/i.exec(rest);
  const location = /LOCATION\s+'([^']+)'/i.exec(rest);
  const props = /TBLPROPERTIES\s*\(/i.exec(rest);
  const properties: Record<string, string> = {};
  if (props) {
    for (const kv of splitTop(parenthesized(rest, props.index + props[0].length - 1))) {
      const m = /^'([^']+)'\s*=\s*'([^']*)'$/.exec(kv);
      if (!m) throw new Error(`not a table property: ${kv}`);
      properties[m[1]!] = m[2]!;
    }
  }
  return {
    name: head[1]!,
    columns: splitTop(cols).map(column),
    partitions: part ? splitTop(parenthesized(rest, part.index + part[0].length - 1)).map(column) : [],
    serde: serde?.[1] ?? '',
    location: location?.[1] ?? '',
    properties,
  };
}

/** A Hive type (array<...>, map<...>, struct<...>, string, bigint, int, boolean, double) in DuckDB's words. */
export function duckdbType(hive: string): string {
  const generic = /^(array|map|struct)<(.*)>$/i.exec(hive);
  if (generic) {
    const kind = generic[1]!.toLowerCase();
    const inner = generic[2]!;
    const parts = splitTop(inner!);
    if (kind === 'array') return `${duckdbType(inner!)}[]`;
    if (kind === 'map') return `MAP(${duckdbType(parts[0]!)}, ${duckdbType(parts[1]!)})`;
    return `STRUCT(${parts.map((p) => { const i = p.indexOf(':'); return `"${p.slice(0, i)}" ${duckdbType(p.slice(i + 1))}`; }).join(', ')})`;
  }
  const scalar: Record<string, string> = { string: 'VARCHAR', bigint: 'BIGINT', int: 'INTEGER', boolean: 'BOOLEAN', double: 'DOUBLE' };
  const t = scalar[hive.toLowerCase()];
  if (!t) throw new Error(`no DuckDB type for Hive type ${hive}`);
  return t;
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * A DuckDB connection with the table of the DDL as a view over `dir`'s NDJSON (dt=... folders as the
 * partition column), so that the README's Athena queries run on it unchanged.
 */
export async function duckdbTable(dir: string, table = parseDdl()): Promise<{ connection: DuckDBConnection; close: () => void }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const columns = table.columns.map((c) => `${sqlString(c.name)}: ${sqlString(duckdbType(c.type))}`).join(', ');
  const hiveTypes = table.partitions.map((p) => `${sqlString(p.name)}: ${sqlString(duckdbType(p.type))}`).join(', ');
  const glob = path.join(dir, '**', '*.ndjson');
  await connection.run(
    `CREATE VIEW ${table.name} AS SELECT * FROM read_json(${sqlString(glob)}, format = 'newline_delimited', columns = {${columns}}, ` +
      `hive_partitioning = true, hive_types = {${hiveTypes}})`,
  );
  return {
    connection,
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}
