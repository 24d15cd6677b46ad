import { resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// STYLE.md: every public export carries TSDoc with an @example. This walks the entry points
// of each subpath export and lists functions, classes and constants without one.
const repo = resolve(import.meta.dirname, '..');
const entryPoints = [
  'src/index.ts',
  'src/testing/index.ts',
  'src/testing/store-conformance.ts',
  'src/stores/sqlite/index.ts',
  'src/team/index.ts',
  'src/protocols/mcp/index.ts',
  'src/protocols/a2a/index.ts',
  'src/distributed/redis/index.ts',
  'src/server/index.ts',
].map((file) => resolve(repo, file));

describe('public API documentation', () => {
  it('gives every exported function, class and constant TSDoc with an @example', () => {
    const program = ts.createProgram(entryPoints, {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      noEmit: true,
    });
    const checker = program.getTypeChecker();
    const missing: string[] = [];
    for (const entry of entryPoints) {
      const source = program.getSourceFile(entry);
      const moduleSymbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
      expect(moduleSymbol, entry).toBeDefined();
      for (const exported of checker.getExportsOfModule(moduleSymbol!)) {
        const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
        if (!(target.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable | ts.SymbolFlags.Class)))
          continue;
        const declaration = target.declarations?.[0];
        if (declaration === undefined) continue;
        const documented = ts.isVariableDeclaration(declaration) ? declaration.parent.parent : declaration;
        const tags = ts.getJSDocTags(documented).map((tag) => tag.tagName.text);
        if (!tags.includes('example'))
          missing.push(`${exported.name} (${declaration.getSourceFile().fileName.slice(repo.length + 1)})`);
      }
    }
    expect(missing).toEqual([]);
  });
});
