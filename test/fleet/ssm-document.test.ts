// fleet/etl-imds-capture.yaml, the SSM Command document: it must be a valid schema-2.2 document
// (checked against a JSON Schema written from AWS's documentation), its PowerShell must parse,
// every parameter must reach the script only as an environment variable whose allowed values need
// no quoting, and the etl-imds command lines the script builds must be ones the CLI accepts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { Node } from 'web-tree-sitter';
import { repoRoot } from '../support/fixtures.js';
import { followScript, powershellParser, syntaxErrors, variables } from './support/powershell.js';

const documentPath = path.join(repoRoot, 'fleet', 'etl-imds-capture.yaml');
const documentText = readFileSync(documentPath, 'utf8');
const schema = JSON.parse(readFileSync(path.join(repoRoot, 'test', 'fleet', 'ssm-command-document.schema.json'), 'utf8'));

interface Parameter {
  type: string;
  description?: string;
  default?: unknown;
  allowedValues?: string[];
  allowedPattern?: string;
  interpolationType?: string;
}
interface SsmDocument {
  schemaVersion: string;
  description: string;
  parameters: Record<string, Parameter>;
  mainSteps: { action: string; name: string; precondition?: { StringEquals: [string, string] }; inputs: { runCommand: string[]; timeoutSeconds?: string } }[];
}

const doc = YAML.parse(documentText, { strict: true, uniqueKeys: true, prettyErrors: true }) as SsmDocument;
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
const script = doc.mainSteps[0]!.inputs.runCommand.join('\n');
const parameters = Object.entries(doc.parameters);

function errorsOf(d: unknown): string[] {
  return validate(d) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

describe('the SSM document fleet/etl-imds-capture.yaml', () => {
  it('is YAML that AWS accepts for a Command document: schema 2.2, within the 64 KB content limit', () => {
    expect(errorsOf(doc)).toEqual([]);
    expect(Buffer.byteLength(documentText)).toBeLessThan(64 * 1024);
    const names = doc.mainSteps.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('the schema it is checked against refuses what AWS refuses', () => {
    const broken: [string, (d: SsmDocument & Record<string, unknown>) => void][] = [
      ['another schema version', (d) => void (d.schemaVersion = '1.2')],
      ['a top-level element of another schema (runtimeConfig)', (d) => void (d.runtimeConfig = {})],
      ['a parameter type that does not exist', (d) => void (d.parameters.Action!.type = 'Text')],
      ['a number as a String default', (d) => void (d.parameters.MaxSizeMB!.default = 256)],
      ['ENV_VAR on an Integer parameter', (d) => void (d.parameters.MaxSizeMB!.type = 'Integer', (d.parameters.MaxSizeMB!.default = 256))],
      ['an unknown parameter property', (d) => void ((d.parameters.Action as unknown as Record<string, unknown>).required = true)],
      ['a step without runCommand', (d) => void delete (d.mainSteps[0]!.inputs as Partial<SsmDocument['mainSteps'][0]['inputs']>).runCommand],
      ['timeoutSeconds as a number', (d) => void ((d.mainSteps[0]!.inputs as unknown as Record<string, unknown>).timeoutSeconds = 3600)],
      ['an input the plugin does not have', (d) => void ((d.mainSteps[0]!.inputs as unknown as Record<string, unknown>).commands = ['x'])],
      ['a precondition with another operator', (d) => void ((d.mainSteps[0] as unknown as Record<string, unknown>).precondition = { StringLike: ['platformType', 'Windows'] })],
      ['no steps', (d) => void (d.mainSteps = [])],
    ];
    for (const [what, change] of broken) {
      const d = structuredClone(doc) as SsmDocument & Record<string, unknown>;
      change(d);
      expect(errorsOf(d), what).not.toEqual([]);
    }
  });

  it('runs PowerShell on Windows only, with the parameters the issue names and a description for each', () => {
    expect(doc.mainSteps).toHaveLength(1);
    expect(doc.mainSteps[0]!.action).toBe('aws:runPowerShellScript');
    expect(doc.mainSteps[0]!.precondition).toEqual({ StringEquals: ['platformType', 'Windows'] });
    expect(Object.keys(doc.parameters)).toEqual(expect.arrayContaining(['Action', 'Duration', 'MaxSizeMB', 'ExeUrl', 'ExeSha256']));
    expect(doc.parameters.Action!.allowedValues).toEqual(['start', 'status', 'stop']);
    for (const [name, p] of parameters) expect(p.description, name).toMatch(/\S/);
  });

  describe('its PowerShell', () => {
    let root: Node;
    beforeAll(async () => {
      root = (await powershellParser()).parse(script)!.rootNode;
    });

    it('parses (tree-sitter-powershell): no syntax errors, and the parser does find them', async () => {
      expect(syntaxErrors(root)).toEqual([]);
      const p = await powershellParser();
      expect(syntaxErrors(p.parse(script.replace('} elseif', 'elseif'))!.rootNode)).not.toEqual([]);
      expect(syntaxErrors(p.parse(script.replace("Join-Path $env:ProgramData 'etl-imds'", "Join-Path $env:ProgramData 'etl-imds"))!.rootNode)).not.toEqual([]);
    });

    it('uses exactly the document parameters, each as an SSM_ environment variable (interpolationType ENV_VAR)', () => {
      const used = new Set(variables(root).filter((v) => /^\$env:SSM_/i.test(v)).map((v) => v.slice('$env:SSM_'.length)));
      expect([...used].sort()).toEqual(Object.keys(doc.parameters).sort());
      for (const [name, p] of parameters) expect(p.interpolationType, name).toBe('ENV_VAR');
    });

    it('splices a parameter in only for agents that set no variable, inside single quotes, once each', () => {
      const splices = [...script.matchAll(/\{\{\s*(\w+)\s*\}\}/g)];
      expect(splices.map((m) => m[1]).sort()).toEqual(Object.keys(doc.parameters).sort());
      for (const [name] of parameters) {
        const line = script.split('\n').find((l) => l.includes(`{{ ${name} }}`))!;
        expect(line.trim()).toBe(`if ($null -eq $env:SSM_${name}) { $env:SSM_${name} = '{{ ${name} }}' }`);
      }
    });
  });

  it("every parameter's allowed values need no quoting: spaces, quotes and PowerShell's special characters are refused", () => {
    const unsafe = ["a b", "a'b", 'a"b', 'a`b', 'a$b', 'a;b', 'a&b', 'a|b', 'a<b', 'a>b', 'a(b)', 'a{b}', 'a,b', 'a\nb', 'a\tb', "'", '$(calc)', '@b'];
    for (const [name, p] of parameters) {
      const allowed = (v: string) => (p.allowedValues ? p.allowedValues.includes(v) : new RegExp(p.allowedPattern!).test(v));
      expect(p.allowedValues ?? p.allowedPattern, `${name} has allowedValues or allowedPattern`).toBeDefined();
      // SSM reads allowedPattern as RE2: no lookaround, no back-references.
      if (p.allowedPattern) expect(p.allowedPattern, name).not.toMatch(/\(\?[=!<]|\\[1-9]/);
      for (const v of unsafe) expect(allowed(v), `${name} refuses ${JSON.stringify(v)}`).toBe(false);
      for (const v of p.allowedValues ?? []) expect(/^[\w.-]+$/.test(v), `${name}: ${v}`).toBe(true);
      if (p.default !== undefined) expect(allowed(p.default as string), `${name}'s default`).toBe(true);
    }
    const accepts = (name: string, v: string) => new RegExp(doc.parameters[name]!.allowedPattern!).test(v);
    expect(['90m', '24h', '7d'].every((v) => accepts('Duration', v))).toBe(true);
    expect(['0h', '24', '1.5h', '-1h'].some((v) => accepts('Duration', v))).toBe(false);
    expect(accepts('ExeUrl', 'https://amzn-s3-demo-bucket.s3.us-east-1.amazonaws.com/tools/etl-imds.exe')).toBe(true);
    expect(accepts('ExeUrl', 's3://amzn-s3-demo-bucket/tools/etl-imds.exe')).toBe(true);
    expect(accepts('ExeUrl', 'http://example.com/etl-imds.exe')).toBe(false);
    expect(accepts('ExeSha256', 'a'.repeat(64))).toBe(true);
    expect(accepts('ExeSha256', 'a'.repeat(63))).toBe(false);
    expect(accepts('S3Prefix', 'etl-imds/prod')).toBe(true);
    expect(accepts('S3Prefix', '/etl-imds')).toBe(false);
  });

  it('the script builds, for each Action, one etl-imds capture command line from argument arrays', async () => {
    const root = (await powershellParser()).parse(script)!.rootNode;
    const env = (over: Record<string, string>) => ({
      ...Object.fromEntries(parameters.map(([n, p]) => [`SSM_${n}`, (p.default as string | undefined) ?? ''])),
      AWS_SSM_INSTANCE_ID: 'i-0123456789abcdef0',
      ...over,
    });
    const values = { $dir: 'C:\\ProgramData\\etl-imds', $out: 'C:\\ProgramData\\etl-imds\\out-1', $exe: 'etl-imds.exe', $code: '0' };
    const runOf = (over: Record<string, string>) => followScript(root, env(over), values);
    expect(runOf({ SSM_Action: 'start' }).invocations).toEqual([
      { program: '$exe', args: ['capture', 'start', '--dir', values.$dir, '--duration', '24h', '--max-size', '256'] },
    ]);
    expect(runOf({ SSM_Action: 'start', SSM_CommandLines: 'yes', SSM_Duration: '7d', SSM_MaxSizeMB: '1024' }).invocations[0]!.args).toEqual(
      ['capture', 'start', '--dir', values.$dir, '--duration', '7d', '--max-size', '1024', '--command-lines'],
    );
    expect(runOf({ SSM_Action: 'status' }).invocations).toEqual([{ program: '$exe', args: ['capture', 'status', '--dir', values.$dir] }]);
    expect(runOf({ SSM_Action: 'stop' }).invocations).toEqual([
      { program: '$exe', args: ['capture', 'stop', '--dir', values.$dir, '--ndjson', '--out', values.$out, '--instance-id', 'i-0123456789abcdef0'] },
    ]);
    expect(runOf({ SSM_Action: 'stop', AWS_SSM_INSTANCE_ID: '' }).invocations[0]!.args).not.toContain('--instance-id');
  });
});

describe("the README's send-command lines (Across a fleet)", () => {
  it('name this document and give only its parameters, each value one it allows (placeholders aside)', () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Across a fleet'), readme.indexOf('\n## Commands'));
    const created = /aws ssm create-document --name (\S+) [\s\S]*?--content file:\/\/\S*\/fleet\/etl-imds-capture\.yaml/.exec(section);
    expect(created).not.toBeNull();
    const sends = [...section.matchAll(/aws ssm send-command --document-name (\S+)[\s\S]*?--parameters '([^']+)'/g)];
    expect(sends.map((m) => m[1])).toEqual([created![1], created![1]]);
    const actions: string[] = [];
    for (const [, , json] of sends) {
      const given = JSON.parse(json!) as Record<string, string[]>;
      for (const [name, values] of Object.entries(given)) {
        const p = doc.parameters[name];
        expect(p, name).toBeDefined();
        expect(values).toHaveLength(1);
        const v = values[0]!;
        if (/^<.*>$/.test(v)) continue; // a value the reader puts in
        if (p!.allowedValues) expect(p!.allowedValues, name).toContain(v);
        if (p!.allowedPattern) expect(v, name).toMatch(new RegExp(p!.allowedPattern));
      }
      actions.push(given.Action![0]!);
    }
    expect(actions).toEqual(['start', 'stop']);
  });
});
