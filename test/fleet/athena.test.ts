// fleet/athena.sql and fleet/ndjson.schema.json describe the same lines: every field the schema
// gives has a column of a matching type, DuckDB reads NDJSON with exactly the DDL's column names
// and types, and the table's partitions are the dt= folders the SSM document writes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { fleetLines, writeFleet } from '../../bench/fleet-ndjson.mjs';
import { repoRoot } from '../support/fixtures.js';
import { duckdbTable, duckdbType, parseDdl } from './support/athena.js';

const table = parseDdl();
const schema = JSON.parse(readFileSync(path.join(repoRoot, 'fleet', 'ndjson.schema.json'), 'utf8'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-athena-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Athena's list of DDL reserved keywords (Athena User Guide, Reserved keywords): a column so named
// must be in backticks.
const DDL_RESERVED = new Set(
  ('ALL ALTER AND ARRAY AS AUTHORIZATION BETWEEN BIGINT BINARY BOOLEAN BOTH BY CASE CASHE CAST CHAR COLUMN CONF CONSTRAINT COMMIT ' +
    'CREATE CROSS CUBE CURRENT CURRENT_DATE CURRENT_TIMESTAMP CURSOR DATABASE DATE DAYOFWEEK DECIMAL DELETE DESCRIBE DISTINCT DOUBLE ' +
    'DROP ELSE END EXCHANGE EXISTS EXTENDED EXTERNAL EXTRACT FALSE FETCH FLOAT FLOOR FOLLOWING FOR FOREIGN FROM FULL FUNCTION GRANT ' +
    'GROUP GROUPING HAVING IF IMPORT IN INNER INSERT INT INTEGER INTERSECT INTERVAL INTO IS JOIN LATERAL LEFT LESS LIKE LOCAL MACRO ' +
    'MAP MORE NONE NOT NULL NUMERIC OF ON ONLY OR ORDER OUT OUTER OVER PARTIALSCAN PARTITION PERCENT PRECEDING PRECISION PRESERVE ' +
    'PRIMARY PROCEDURE RANGE READS REDUCE REGEXP REFERENCES REVOKE RIGHT RLIKE ROLLBACK ROLLUP ROW ROWS SELECT SET SMALLINT START ' +
    'TABLE TABLESAMPLE THEN TIME TIMESTAMP TO TRANSFORM TRIGGER TRUE TRUNCATE UNBOUNDED UNION UNIQUEJOIN UPDATE USER USING ' +
    'UTC_TIMESTAMP VALUES VARCHAR VIEWS WHEN WHERE WINDOW WITH').split(' '),
);

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema>; $ref?: string; anyOf?: JsonSchema[]; type?: string | string[] };

function resolve(s: JsonSchema): JsonSchema {
  if (s.$ref) return resolve(schema.$defs[s.$ref.replace('#/$defs/', '')] as JsonSchema);
  return s;
}

/** The JSON types a schema allows (null aside), following $ref and anyOf. */
function jsonTypes(s: JsonSchema): Set<string> {
  s = resolve(s);
  const out = new Set<string>();
  if (s.anyOf) for (const a of s.anyOf) for (const t of jsonTypes(a)) out.add(t);
  const t = s.type;
  for (const x of Array.isArray(t) ? t : t ? [t] : []) if (x !== 'null') out.add(x);
  if ('const' in s && typeof s.const === 'string') out.add('string');
  if (Array.isArray(s.enum)) for (const v of s.enum as unknown[]) if (v !== null) out.add(typeof v === 'number' ? 'integer' : typeof v);
  if (s.propertyNames || s.additionalProperties) out.add('object');
  return out;
}

/** Does a Hive type hold what the schema allows? */
function fits(written: string, s: JsonSchema): string | null {
  const types = jsonTypes(s);
  const hive = written.replace(/^\w+/, (k) => k.toLowerCase());
  s = resolve(s);
  const want = (ok: boolean, what: string) => (ok ? null : `${hive} for ${[...types].join('|')} (${what})`);
  if (hive === 'string') return want(types.size === 1 && types.has('string'), 'string');
  if (hive === 'bigint' || hive === 'int') return want(types.size === 1 && types.has('integer'), 'integer');
  if (hive === 'boolean') return want(types.size === 1 && types.has('boolean'), 'boolean');
  if (hive.startsWith('array<')) return want(types.size === 1 && types.has('array'), 'array');
  if (hive.startsWith('map<')) return want(types.size === 1 && types.has('object') && !s.properties, 'map');
  if (hive.startsWith('struct<')) {
    const obj = (s.anyOf ?? [s]).map(resolve).find((x) => x.type === 'object' || (Array.isArray(x.type) && x.type.includes('object')));
    if (!obj) return `${hive} for a value that is not an object`;
    if (!obj.properties) return null; // an object the schema leaves open (capture): the struct takes some of its fields
    const fields = hive.slice('struct<'.length, -1).split(/,(?![^<]*>)/).map((f) => f.slice(0, f.indexOf(':')));
    const missing = fields.filter((f) => !(f in obj.properties!));
    return missing.length ? `${hive}: ${missing.join(', ')} not in the schema` : null;
  }
  return `unknown Hive type ${hive}`;
}

describe('the Athena table fleet/athena.sql', () => {
  it('reads NDJSON with the Hive JSON SerDe, partitioned by the dt= folders, projected by date', () => {
    expect(table.name).toBe('etl_imds');
    expect(table.serde).toBe('org.apache.hive.hcatalog.data.JsonSerDe');
    expect(table.partitions.map((c) => [c.name, c.type.toLowerCase()])).toEqual([['dt', 'string']]);
    expect(table.location).toMatch(/^s3:\/\/[a-z0-9.-]+\/.+\/$/);
    const p = table.properties;
    expect(p).toMatchObject({ 'projection.enabled': 'true', 'projection.dt.type': 'date', 'projection.dt.format': 'yyyy-MM-dd', 'projection.dt.interval.unit': 'DAYS' });
    expect(p['projection.dt.range']).toMatch(/^\d{4}-\d{2}-\d{2},NOW$/);
    expect(p['storage.location.template']).toBe(`${table.location}dt=\${dt}/`);
  });

  it('puts every column named like a DDL reserved keyword in backticks, and names no column twice', () => {
    for (const c of table.columns) expect(c.quoted, c.name).toBe(DDL_RESERVED.has(c.name.toUpperCase()));
    const lower = table.columns.map((c) => c.name.toLowerCase());
    expect(new Set(lower).size).toBe(lower.length);
  });

  it('has a column of a matching type for every field of every line type in the NDJSON schema', () => {
    const cols = new Map(table.columns.map((c) => [c.name, c.type]));
    const problems: string[] = [];
    const seen = new Map<string, JsonSchema>();
    for (const kind of ['processLine', 'requestLine', 'fileLine']) {
      const props = (schema.$defs[kind] as JsonSchema).properties!;
      for (const [name, s] of Object.entries(props)) {
        const def = s === (true as unknown) ? (schema.$defs.where as JsonSchema).properties![name]! : s;
        const hive = cols.get(name);
        if (!hive) {
          problems.push(`${kind}.${name}: no column`);
          continue;
        }
        const why = fits(hive, def);
        if (why) problems.push(`${kind}.${name}: ${why}`);
        seen.set(name, def);
      }
    }
    expect(problems).toEqual([]);
    // ... and no column the schema does not give.
    expect(table.columns.map((c) => c.name).filter((n) => !seen.has(n))).toEqual([]);
  });

  it('DuckDB reads the NDJSON with exactly the DDL\'s column names and types; every line is valid against the schema', async () => {
    const dir = path.join(tmp, 'fleet');
    const COUNT = 60;
    writeFleet(dir, COUNT, 5);
    const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
    const lines = [...fleetLines(COUNT, 5)] as Record<string, unknown>[];
    for (const l of lines) expect(validate(l) ? [] : validate.errors, JSON.stringify(l).slice(0, 80)).toEqual([]);

    const { connection, close } = await duckdbTable(dir);
    try {
      const described = (await connection.runAndReadAll(`DESCRIBE ${table.name}`)).getRowObjectsJson();
      const norm = (t: string) => t.replace(/\s+/g, '').replace(/"/g, '').toUpperCase();
      expect(described.map((r) => [r.column_name, norm(String(r.column_type))])).toEqual(
        [...table.columns, ...table.partitions].map((c) => [c.name, norm(duckdbType(c.type))]),
      );
      const count = (await connection.runAndReadAll(`SELECT type, count(*) AS n, sum(v1) AS v1, sum(requests) AS requests FROM ${table.name} GROUP BY type ORDER BY type`)).getRowObjectsJson();
      const byType = (t: string) => lines.filter((l) => l.type === t);
      const total = (t: string, k: string) => byType(t).reduce((a, l) => a + (l[k] as number), 0);
      expect(count).toEqual([
        { type: 'file', n: String(byType('file').length), v1: null, requests: String(total('file', 'requests')) },
        { type: 'process', n: String(byType('process').length), v1: String(total('process', 'v1')), requests: null },
        { type: 'request', n: String(byType('request').length), v1: null, requests: null },
      ]);
      // Nested values arrive whole: the account, the statuses map, the 401s on request lines.
      const p = byType('process')[0]!;
      const row = (await connection.runAndReadAll(`SELECT "user".sid AS sid, statuses, dt FROM ${table.name} WHERE type = 'process' AND instanceId = '${p.instanceId}' AND key = '${p.key}'`)).getRowObjectsJson()[0]!;
      expect(row.sid).toBe((p.user as { sid: string }).sid);
      expect(Object.fromEntries((row.statuses as { key: string; value: string }[]).map((e) => [e.key, Number(e.value)]))).toEqual(p.statuses);
      expect(row.dt).toMatch(/^2024-06-0\d$/);
      const refused = (await connection.runAndReadAll(`SELECT count(*) AS n FROM ${table.name} WHERE type = 'request' AND class = 'v1' AND status = 401`)).getRowObjectsJson()[0]!;
      expect(Number(refused.n)).toBe(byType('request').filter((l) => l.class === 'v1' && l.status === 401).length);
    } finally {
      close();
    }
  });
});
