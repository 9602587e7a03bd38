// The one typed contract of both addons (lib/binding/types.ts) against the addons as loaded: the declared
// members are read from the TypeScript interfaces with the compiler's type checker (nothing is listed by hand
// here), and must be exactly what the addons export — functions as functions, the sync classes with exactly
// the declared prototype methods and accessors, constant tables with exactly the declared names, returned
// objects with the declared fields. The fuzz test's schema list (test/fuzz/native.fuzz.test.ts) is checked
// against the same declarations. Also: the layering rule that only lib/posix imports lib/binding, and that
// every public name of lib/posix carries a doc comment.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadForkAddon, native } from '../lib/binding/addon.js';
import * as posix from '../lib/posix/index.js';
import { checkLeaks } from './helpers/leaks.js';

checkLeaks();

const root = fileURLToPath(new URL('..', import.meta.url));
const TYPES = path.join(root, 'lib/binding/types.ts');
const POSIX_INDEX = path.join(root, 'lib/posix/index.ts');

let checker: ts.TypeChecker;
let program: ts.Program;

beforeAll(() => {
  const config = ts.readConfigFile(path.join(root, 'tsconfig.json'), (f) => ts.sys.readFile(f));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  program = ts.createProgram([TYPES, POSIX_INDEX], { ...parsed.options, noEmit: true });
  checker = program.getTypeChecker();
});

/** The type of an interface or type alias exported by lib/binding/types.ts. */
function declaredType(name: string): ts.Type {
  const sf = program.getSourceFile(TYPES)!;
  const sym = checker.getExportsOfModule(checker.getSymbolAtLocation(sf)!).find((s) => s.name === name);
  if (!sym) throw new Error(`lib/binding/types.ts does not export ${name}`);
  return checker.getDeclaredTypeOfSymbol(sym);
}

interface Member {
  name: string;
  type: ts.Type;
  optional: boolean;
  method: boolean;
  readonly: boolean;
}

/** The declared members of a type (inherited ones included; index signatures are not members). */
function membersOf(t: ts.Type): Member[] {
  return checker.getPropertiesOfType(t).map((s) => {
    const decl = s.valueDeclaration ?? s.declarations?.[0];
    return {
      name: s.name,
      type: checker.getTypeOfSymbol(s),
      optional: (s.flags & ts.SymbolFlags.Optional) !== 0,
      method: (s.flags & ts.SymbolFlags.Method) !== 0,
      readonly: decl !== undefined && (ts.getCombinedModifierFlags(decl) & ts.ModifierFlags.Readonly) !== 0,
    };
  });
}

const isCallable = (t: ts.Type): boolean => t.getCallSignatures().length > 0;
/** A NativeClass<T>: its `prototype` member's type, else undefined. */
const prototypeOf = (t: ts.Type): ts.Type | undefined => {
  const p = t.getProperty('prototype');
  return p && !isCallable(t) ? checker.getTypeOfSymbol(p) : undefined;
};
const hasStringIndex = (t: ts.Type): boolean => checker.getIndexInfosOfType(t).some((i) => i.keyType.flags & ts.TypeFlags.String);

/** The declared fields of what `iface[method]` returns (the first call signature). */
function returnFields(iface: string, method: string): { required: string[]; all: string[] } {
  const m = membersOf(declaredType(iface)).find((x) => x.name === method);
  if (!m) throw new Error(`${iface} declares no ${method}`);
  let ret = m.type.getCallSignatures()[0]!.getReturnType();
  if (ret.getNumberIndexType()) ret = ret.getNumberIndexType()!; // an array: its elements
  const fields = membersOf(ret);
  return { required: fields.filter((f) => !f.optional).map((f) => f.name).sort(), all: fields.map((f) => f.name).sort() };
}

/** Checks an object returned by the addon against the declared fields of its type. */
function expectFields(value: object, iface: string, method: string): void {
  const { required, all } = returnFields(iface, method);
  const keys = Object.keys(value).sort();
  expect(required.filter((k) => !keys.includes(k)), `${iface}.${method}() lacks declared fields`).toEqual([]);
  expect(keys.filter((k) => !all.includes(k)), `${iface}.${method}() returns undeclared fields`).toEqual([]);
}

const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

/** What one declared member of an addon must be at run time; the problems found, as text. */
function checkMember(owner: string, m: Member, value: unknown): string[] {
  const where = `${owner}.${m.name}`;
  const proto = prototypeOf(m.type);
  if (proto) {
    if (typeof value !== 'function') return [`${where}: a class is declared, ${typeof value} exported`];
    const problems: string[] = [];
    const p = (value as { prototype: object }).prototype;
    const actual = Object.getOwnPropertyNames(p).filter((k) => k !== 'constructor');
    const declared = membersOf(proto);
    for (const d of declared) {
      const desc = Object.getOwnPropertyDescriptor(p, d.name);
      if (!desc) problems.push(`${where}.prototype.${d.name} is declared but missing`);
      else if (d.method && typeof desc.value !== 'function') problems.push(`${where}.prototype.${d.name}: a method is declared`);
      else if (!d.method && (typeof desc.get !== 'function' || (d.readonly && desc.set !== undefined))) {
        problems.push(`${where}.prototype.${d.name}: a ${d.readonly ? 'read-only ' : ''}accessor is declared`);
      }
    }
    for (const k of actual) if (!declared.some((d) => d.name === k)) problems.push(`${where}.prototype.${k} is exported but not declared`);
    return problems;
  }
  if (isCallable(m.type)) return typeof value === 'function' ? [] : [`${where}: a function is declared, ${typeof value} exported`];
  if (m.type.flags & ts.TypeFlags.StringLiteral) {
    const lit = (m.type as ts.StringLiteralType).value;
    return value === lit ? [] : [`${where}: '${lit}' is declared, ${String(value)} exported`];
  }
  if (m.type.flags & ts.TypeFlags.NumberLike) return typeof value === 'number' ? [] : [`${where}: a number is declared`];
  if (m.type.flags & ts.TypeFlags.Object) {
    if (value === null || typeof value !== 'object') return [`${where}: an object is declared, ${typeof value} exported`];
    const declared = membersOf(m.type).map((x) => x.name);
    const actual = Object.keys(value);
    const problems = declared.filter((k) => !actual.includes(k)).map((k) => `${where}.${k} is declared but missing`);
    // A table with an index signature may hold more names (the signals: 'SIGRTMIN+1' …); test below.
    if (!hasStringIndex(m.type)) problems.push(...actual.filter((k) => !declared.includes(k)).map((k) => `${where}.${k} is exported but not declared`));
    for (const k of actual) if (typeof (value as Record<string, unknown>)[k] !== 'number') problems.push(`${where}.${k} is not a number`);
    return problems;
  }
  return [`${where}: no rule for the declared type ${checker.typeToString(m.type)}`];
}

/** Every problem between an addon object and its declared interface. */
function compare(owner: string, iface: string, addon: object): string[] {
  const declared = membersOf(declaredType(iface));
  const problems: string[] = [];
  for (const k of Object.keys(addon)) if (!declared.some((d) => d.name === k)) problems.push(`${owner}.${k} is exported but not declared in ${iface}`);
  for (const d of declared) {
    if (!Object.hasOwn(addon, d.name)) problems.push(`${owner}.${d.name} is declared in ${iface} but not exported`);
    else problems.push(...checkMember(owner, d, (addon as Record<string, unknown>)[d.name]));
  }
  return problems;
}

describe('lib/binding/types.ts is the contract of both addons', () => {
  it('the declarations are read from the interfaces (a sanity check of the reader itself)', () => {
    const main = membersOf(declaredType('MainAddon'));
    // Inherited members count: MainAddon itself declares none.
    expect(main.length).toBeGreaterThan(120);
    expect(main.find((m) => m.name === 'waitpid')?.method).toBe(true);
    expect(prototypeOf(main.find((m) => m.name === 'Semaphore')!.type)).toBeDefined();
    expect(membersOf(declaredType('ForkAddon')).map((m) => m.name).sort()).toEqual(['abi', 'fork', 'mark', 'probes', 'stats']);
    // and the comparison finds what differs
    expect(compare('fake', 'ForkAddon', { abi: 1, fork() {}, probes() {}, stats() {}, extra() {} })).toEqual([
      'fake.extra is exported but not declared in ForkAddon',
      'fake.mark is declared in ForkAddon but not exported',
    ]);
    expect(compare('fake', 'AsyncWaitBinding', { abi: 'other', cancelWait: 1, pendingWaits() {} })).toEqual([
      "fake.abi: 'napi' is declared, other exported",
      'fake.cancelWait: a function is declared, number exported',
    ]);
  });

  it('the main addon exports exactly the members of MainAddon, each of its declared kind', () => {
    expect(compare('native', 'MainAddon', native)).toEqual([]);
  });

  it('the fork addon exports exactly the members of ForkAddon', () => {
    expect(compare('forkAddon', 'ForkAddon', loadForkAddon())).toEqual([]);
  });

  it('the signal table: the declared names, then SIGRTMIN+1 … up to SIGRTMAX', () => {
    const declared = membersOf(declaredType('SignalTable')).map((m) => m.name);
    const extra = Object.keys(native.signals).filter((k) => !declared.includes(k));
    expect(extra.length).toBe(native.signals.SIGRTMAX - native.signals.SIGRTMIN - 1);
    expect(extra.filter((k) => native.signals[k] !== native.signals.SIGRTMIN + Number(/^SIGRTMIN\+(\d+)$/.exec(k)?.[1]))).toEqual([]);
  });

  it('returned objects have the declared fields', () => {
    const handle = native.mmap(4096);
    try {
      expectFields(handle, 'ShmBinding', 'mmap');
    } finally {
      native.mappingClose(handle);
    }
    expectFields(native.memoryLimit(), 'ShmBinding', 'memoryLimit');
    const [r, w] = native.pipe();
    try {
      expectFields(native.getFlags(r), 'FdBinding', 'getFlags');
    } finally {
      native.close(r);
      native.close(w);
    }
    const [a, b] = native.socketpair();
    try {
      native.sendFds(a, [], new Uint8Array([1]));
      expectFields(native.recvFds(b), 'FdBinding', 'recvFds');
    } finally {
      native.close(a);
      native.close(b);
    }
    const name = `/multiproc-binding-${process.pid}-q`;
    const C = native.mqConstants;
    const mq = native.mqOpen(name, C.O_RDWR | C.O_CREAT | C.O_EXCL, 0o600, 1, 16);
    try {
      expectFields(native.mqGetattr(mq), 'MqueueBinding', 'mqGetattr');
    } finally {
      native.mqClose(mq);
      native.mqUnlink(name);
    }
    expectFields(loadForkAddon().stats(), 'ForkAddon', 'stats');
    const probes = loadForkAddon().probes();
    expect(probes.length).toBeGreaterThan(0);
    for (const p of probes) expectFields(p, 'ForkAddon', 'probes');
  });

  it("every declared function has a fuzz schema in test/fuzz/native.fuzz.test.ts, and every schema a declaration", () => {
    // The schema names, read from the fuzz test's `schemas` object literal (its syntax tree, not a regex).
    const file = path.join(root, 'test/fuzz/native.fuzz.test.ts');
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    let schemas: string[] | undefined;
    const visit = (n: ts.Node): void => {
      if (ts.isVariableDeclaration(n) && n.name.getText(sf) === 'schemas' && n.initializer && ts.isObjectLiteralExpression(n.initializer)) {
        schemas = n.initializer.properties.map((p) => (p.name && (ts.isStringLiteral(p.name) || ts.isIdentifier(p.name)) ? p.name.text : '?'));
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
    expect(schemas?.length).toBeGreaterThan(100);
    // The fuzz test's names: functions by name; a class, its methods as 'C.prototype.m' and accessors as
    // 'get C.prototype.p'; the fork addon's functions as 'fork.f'.
    const declared: string[] = [];
    for (const m of membersOf(declaredType('MainAddon'))) {
      const proto = prototypeOf(m.type);
      if (proto) {
        declared.push(m.name);
        for (const p of membersOf(proto)) declared.push(p.method ? `${m.name}.prototype.${p.name}` : `get ${m.name}.prototype.${p.name}`);
      } else if (isCallable(m.type)) {
        declared.push(m.name);
      }
    }
    for (const m of membersOf(declaredType('ForkAddon'))) if (isCallable(m.type)) declared.push(`fork.${m.name}`);
    expect(sorted(declared.filter((n) => !schemas!.includes(n))), 'declared without a fuzz schema').toEqual([]);
    expect(sorted(schemas!.filter((n) => !declared.includes(n))), 'fuzz schemas of undeclared functions').toEqual([]);
  });
});

describe('layering', () => {
  /** Every .ts file under lib/, relative to the package root. */
  function libFiles(dir = 'lib'): string[] {
    return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? libFiles(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : [],
    );
  }

  /** The relative module specifiers a file imports or re-exports, resolved to paths under the package root. */
  function importsOf(file: string): string[] {
    const sf = ts.createSourceFile(file, readFileSync(path.join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
    const out: string[] = [];
    const visit = (n: ts.Node): void => {
      const spec =
        (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)
          ? n.moduleSpecifier.text
          : ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])
            ? n.arguments[0].text
            : undefined;
      if (spec?.startsWith('.')) out.push(path.posix.join(path.posix.dirname(file), spec));
      ts.forEachChild(n, visit);
    };
    visit(sf);
    return out;
  }

  it('only lib/posix imports lib/binding', () => {
    const files = libFiles();
    expect(files.length).toBeGreaterThan(50);
    expect(importsOf('lib/posix/shm.ts')).toContain('lib/binding/addon.js'); // the reader sees imports
    const offenders = files
      .filter((f) => !f.startsWith('lib/posix/') && !f.startsWith('lib/binding/'))
      .flatMap((f) => importsOf(f).filter((i) => i.startsWith('lib/binding/')).map((i) => `${f} imports ${i}`));
    expect(offenders).toEqual([]);
  });
});

describe('lib/posix documents every public name', () => {
  it('each export of lib/posix/index.ts has a doc comment where it is declared', () => {
    const sf = program.getSourceFile(POSIX_INDEX)!;
    const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(sf)!);
    expect(exports.length).toBeGreaterThan(150);
    const undocumented = exports
      .map((s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s))
      .filter((s) => s.getDocumentationComment(checker).length === 0)
      .map((s) => s.name);
    expect(sorted(undocumented)).toEqual([]);
  });
});
