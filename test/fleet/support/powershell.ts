// The PowerShell of fleet/etl-imds-capture.yaml, read by a real PowerShell grammar
// (tree-sitter-powershell, run by web-tree-sitter): PowerShell itself cannot run here, so its
// syntax is checked by the parser, and the etl-imds command lines the script builds are worked
// out by following the few statements that build them (argument arrays, `if` on parameter values).
import { createRequire } from 'node:module';
import path from 'node:path';
import { Language, Parser, type Node } from 'web-tree-sitter';

const require = createRequire(import.meta.url);

let parser: Parser | undefined;

export async function powershellParser(): Promise<Parser> {
  if (parser) return parser;
  await Parser.init();
  const wasm = path.join(path.dirname(require.resolve('tree-sitter-powershell/package.json')), 'tree-sitter-powershell.wasm');
  const p = new Parser();
  p.setLanguage(await Language.load(wasm));
  parser = p;
  return p;
}

/** Expression nodes that only wrap their one child (the grammar's precedence levels). */
const WRAPPERS = new Set([
  'pipeline', 'pipeline_chain', 'logical_expression', 'bitwise_expression', 'comparison_expression', 'additive_expression',
  'multiplicative_expression', 'format_expression', 'range_expression', 'array_literal_expression', 'unary_expression',
  'left_assignment_expression', 'parenthesized_expression',
]);

export function unwrap(n: Node): Node {
  while (WRAPPERS.has(n.type) && n.namedChildCount === 1) n = n.namedChild(0)!;
  return n;
}

/** Syntax errors: the text of every ERROR node and every token the parser had to assume. */
export function syntaxErrors(root: Node): string[] {
  const out: string[] = [];
  const visit = (n: Node) => {
    if (n.type === 'ERROR') out.push(`line ${n.startPosition.row + 1}: cannot parse ${JSON.stringify(n.text.slice(0, 80))}`);
    else if (n.isMissing) out.push(`line ${n.startPosition.row + 1}: missing ${n.type}`);
    for (const c of n.children) if (c) visit(c);
  };
  visit(root);
  return out;
}

export function variables(root: Node): string[] {
  return root.descendantsOfType('variable').map((v) => v!.text);
}

/** The text a single-quoted PowerShell string stands for. */
function verbatim(n: Node): string {
  const t = n.text;
  if (!/^'.*'$/s.test(t)) throw new Error(`line ${n.startPosition.row + 1}: only single-quoted strings are followed (${t})`);
  return t.slice(1, -1).replace(/''/g, "'");
}

export interface Invocation {
  /** The program expression (`$exe`). */
  program: string;
  args: string[];
}

export interface Run {
  invocations: Invocation[];
  /** The run ended at an `exit` before the end of the script. */
  exited: boolean;
}

/**
 * Follows the script for one set of environment variables and prints what it runs with `& $x @list`.
 * Only what decides those command lines is followed: assignments to the lists, `if` over `$env:`
 * values (`-eq`, `-ne`, or a value's being set), `exit`. Any other statement is passed over; an `if`
 * whose condition cannot be worked out must not touch a list or run anything.
 * `values` gives the variables the script computes with cmdlets (`$dir`, `$out`).
 */
export function followScript(root: Node, env: Record<string, string | undefined>, values: Record<string, string>): Run {
  const lists = new Map<string, string[]>();
  const invocations: Invocation[] = [];
  const lineOf = (n: Node) => `line ${n.startPosition.row + 1}`;

  const value = (n: Node): string | undefined => {
    n = unwrap(n);
    if (n.type === 'string_literal') return verbatim(n);
    if (n.type === 'variable') {
      const name = n.text;
      if (name === '$null') return undefined;
      if (name.startsWith('$env:')) return env[name.slice(5)];
      if (name in values) return values[name];
      throw new Error(`${lineOf(n)}: no value for ${name}`);
    }
    throw new Error(`${lineOf(n)}: cannot work out ${JSON.stringify(n.text)}`);
  };

  const items = (n: Node): string[] => {
    n = unwrap(n);
    if (n.type === 'array_expression') {
      const inner = unwrap(n.namedChild(0)!.namedChild(0)!);
      const parts = inner.type === 'array_literal_expression' ? inner.namedChildren.map((c) => c!) : [inner];
      return parts.map((p) => {
        const v = value(p);
        if (v === undefined) throw new Error(`${lineOf(p)}: $null in an argument list`);
        return v;
      });
    }
    const v = value(n);
    if (v === undefined) throw new Error(`${lineOf(n)}: $null in an argument list`);
    return [v];
  };

  /** true/false, or undefined when the condition is beyond what is followed. */
  const condition = (n: Node): boolean | undefined => {
    n = unwrap(n);
    try {
      if (n.type === 'variable') return !!value(n);
      if (n.type === 'comparison_expression' && n.namedChildCount === 3) {
        const op = n.namedChild(1)!.text.toLowerCase();
        if (op !== '-eq' && op !== '-ne') return undefined;
        const a = value(n.namedChild(0)!);
        const b = value(n.namedChild(2)!);
        // PowerShell's -eq on strings ignores case.
        const eq = a === undefined || b === undefined ? a === b : a.toLowerCase() === b.toLowerCase();
        return op === '-eq' ? eq : !eq;
      }
    } catch {
      return undefined;
    }
    return undefined;
  };

  const touchesRun = (n: Node): boolean =>
    n.descendantsOfType('command').some((c) => c!.namedChild(0)?.type === 'command_invokation_operator') ||
    n.descendantsOfType('assignment_expression').some((a) => lists.has(unwrap(a!.namedChild(0)!).text) || unwrap(a!.namedChild(2)!).type === 'array_expression');

  class Exit extends Error {}

  const statements = (list: Node | null): void => {
    if (!list) return;
    for (const s of list.namedChildren) statement(unwrap(s!));
  };

  const block = (n: Node): void => statements(n.namedChildren.find((c) => c!.type === 'statement_list') ?? null);

  const statement = (s: Node): void => {
    if (s.type === 'flow_control_statement' && /^exit\b/i.test(s.text)) throw new Exit();
    if (s.type === 'assignment_expression') {
      const target = unwrap(s.namedChild(0)!).text;
      const op = s.namedChild(1)!.text;
      const rhs = unwrap(s.namedChild(2)!);
      const isList = rhs.type === 'array_expression' || lists.has(target);
      if (!isList) return;
      const vals = items(rhs);
      if (op === '=') lists.set(target, vals);
      else if (op === '+=') lists.set(target, [...(lists.get(target) ?? []), ...vals]);
      else throw new Error(`${lineOf(s)}: ${op} on ${target}`);
      return;
    }
    if (s.type === 'command' && s.namedChild(0)?.type === 'command_invokation_operator') {
      const program = s.namedChild(1)!.text;
      const elements = s.namedChildren.find((c) => c!.type === 'command_elements');
      const args: string[] = [];
      for (const element of elements?.namedChildren ?? []) {
        if (!element || element.type === 'command_argument_sep') continue;
        const e = unwrap(element);
        if (e.type === 'variable' && e.text.startsWith('@')) {
          const l = lists.get('$' + e.text.slice(1));
          if (!l) throw new Error(`${lineOf(e)}: ${e.text} splats a list the script never built`);
          args.push(...l);
        } else throw new Error(`${lineOf(e)}: arguments other than one splatted list are not followed (${e.text})`);
      }
      invocations.push({ program, args });
      return;
    }
    if (s.type === 'if_statement') {
      const clauses: [Node | null, Node][] = [];
      const kids = s.namedChildren.map((c) => c!);
      clauses.push([kids[0]!, kids[1]!]);
      for (const k of kids.slice(2)) {
        if (k.type === 'elseif_clauses') for (const c of k.namedChildren) clauses.push([c!.namedChild(0)!, c!.namedChild(1)!]);
        else if (k.type === 'else_clause') clauses.push([null, k.namedChild(0)!]);
      }
      for (const [cond, body] of clauses) {
        const taken = cond === null ? true : condition(cond);
        if (taken === undefined) {
          if (touchesRun(body)) throw new Error(`${lineOf(cond!)}: the condition ${JSON.stringify(cond!.text)} decides a command line but is beyond what is followed`);
          return; // it can only end the run or do other work: nothing it decides is followed
        }
        if (taken) {
          block(body);
          return;
        }
      }
      return;
    }
    if (touchesRun(s)) throw new Error(`${lineOf(s)}: ${s.type} builds or runs a command line in a way that is not followed`);
  };

  try {
    statements(root.namedChildren.find((c) => c!.type === 'statement_list') ?? null);
  } catch (e) {
    if (e instanceof Exit) return { invocations, exited: true };
    throw e;
  }
  return { invocations, exited: false };
}
