// What the objects new in a second heap snapshot are, per run, with names precise enough to find
// them in the source: `node bench/hot-heap-kinds.mjs <before> <after> [runs] [top]`.
// The snapshots must come from the same process (bench/hot-heap.mjs writes such a pair): an
// object is new when its id is not in the first. Closures are named by function and source
// line, a context by the function that closes over it, a plain object by its keys, a promise,
// reaction, array or string by what holds it. Prints the totals by kind, then the labels.
import { readFileSync } from 'node:fs';

const [beforeFile, afterFile, runsText = '1', topText = '80'] = process.argv.slice(2);
const runs = Number(runsText);
/** With HOLDERS=1, each label is followed by what most often holds it (the first retainer found). */
const withHolders = process.env.HOLDERS === '1';

function load(path) {
  const snapshot = JSON.parse(readFileSync(path, 'utf8'));
  const meta = snapshot.snapshot.meta;
  const width = meta.node_fields.length;
  const edgeWidth = meta.edge_fields.length;
  const nodes = snapshot.nodes;
  const count = nodes.length / width;
  const firstEdge = new Uint32Array(count + 1);
  const edgeCountAt = meta.node_fields.indexOf('edge_count');
  for (let node = 0; node < count; node++)
    firstEdge[node + 1] = firstEdge[node] + nodes[node * width + edgeCountAt] * edgeWidth;
  return { snapshot, meta, width, edgeWidth, nodes, count, firstEdge };
}

const before = load(beforeFile);
const after = load(afterFile);
const idAt = before.meta.node_fields.indexOf('id');
const oldIds = new Set();
for (let node = 0; node < before.count; node++) oldIds.add(before.nodes[node * before.width + idAt]);

const { snapshot, meta, width, edgeWidth, nodes, count, firstEdge } = after;
const strings = snapshot.strings;
const edges = snapshot.edges;
const typeNames = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => meta.node_fields.indexOf(f));
const type = (node) => typeNames[nodes[node * width + typeAt]];
const name = (node) => strings[nodes[node * width + nameAt]];
const size = (node) => nodes[node * width + sizeAt];
const isNew = (node) => !oldIds.has(nodes[node * width + idAt]);
function* edgesOf(node) {
  for (let edge = firstEdge[node]; edge < firstEdge[node + 1]; edge += edgeWidth) {
    const kind = edgeTypes[edges[edge]];
    const label =
      kind === 'element' || kind === 'hidden' ? String(edges[edge + 1]) : strings[edges[edge + 1]];
    yield { kind, label, to: edges[edge + 2] / width };
  }
}
const edge = (node, label) => {
  for (const e of edgesOf(node)) if (e.label === label) return e.to;
  return -1;
};

// Retainers of new nodes (one list per node, strong edges only).
const retainers = new Map();
for (let node = 0; node < count; node++)
  for (const e of edgesOf(node)) {
    if (e.kind === 'weak' || e.kind === 'shortcut' || !isNew(e.to)) continue;
    let list = retainers.get(e.to);
    if (!list) {
      list = [];
      retainers.set(e.to, list);
    }
    list.push({ from: node, label: e.label, kind: e.kind });
  }

// Source places of closures: locations give script id, line and column; a function's
// SharedFunctionInfo leads to its script's name.
const places = new Map();
const locationWidth = meta.location_fields.length;
for (let at = 0; at < snapshot.locations.length; at += locationWidth) {
  const [objectIndex, , line, column] = snapshot.locations.slice(at, at + locationWidth);
  places.set(objectIndex / width, `${line + 1}:${column + 1}`);
}
function scriptOf(closure) {
  const shared = edge(closure, 'shared');
  if (shared < 0) return '?';
  const script = edge(shared, 'script_or_debug_info');
  if (script < 0) return '?';
  return name(script)
    .replace(/^file:\/\//, '')
    .replace(/^.*\/(dist|node_modules|bench)\//, '$1/');
}
function closureLabel(node) {
  if (places.has(node)) return `${name(node) || '(anonymous)'} ${scriptOf(node)}:${places.get(node)}`;
  // A built-in closure (an await's continuation, a promise's resolve or reject): named by its code.
  const code = edge(node, 'code');
  const builtin = code >= 0 ? name(code).replace(/^\((.*) builtin handle\)$/, '$1') : '?';
  const context = edge(node, 'context');
  if (context >= 0)
    for (const e of edgesOf(context))
      if (type(e.to) === 'object' && name(e.to) === 'Generator')
        return `${builtin} in ${generatorLabel(e.to)}`;
  return builtin;
}
function generatorLabel(generator) {
  const f = edge(generator, 'function');
  return f >= 0 && places.has(f) ? closureLabel(f) : '?';
}
function reactionLabel(reaction) {
  const handler = edge(reaction, '1') >= 0 ? edge(reaction, '1') : edge(reaction, '0');
  return handler >= 0 ? (type(handler) === 'closure' ? closureLabel(handler) : shortLabel(handler)) : '?';
}

function shortLabel(node) {
  const t = type(node);
  if (t === 'closure') return `closure ${closureLabel(node)}`;
  if (t === 'object' && name(node) === 'system / Context') return `context of ${contextOwner(node)}`;
  if (t === 'object' && name(node) === 'Object') return `{${keysOf(node)}}`;
  return `${t} ${name(node).slice(0, 50)}`;
}
function keysOf(node) {
  const keys = [];
  for (const e of edgesOf(node)) if (e.kind === 'property' && e.label !== '__proto__') keys.push(e.label);
  return keys.slice(0, 8).join(',') + (keys.length > 8 ? ',…' : '');
}
function contextOwner(context) {
  for (const r of retainers.get(context) ?? [])
    if (type(r.from) === 'closure' && r.label === 'context') return closureLabel(r.from);
  for (const r of retainers.get(context) ?? [])
    if (type(r.from) === 'object' && name(r.from) === 'system / Context' && r.label === 'previous')
      return `a context inside ${contextOwner(r.from)}`;
  const r = (retainers.get(context) ?? [])[0];
  return r ? `(held by ${type(r.from)} ${name(r.from).slice(0, 40)}.${r.label})` : '(no retainer)';
}
function heldBy(node) {
  const list = retainers.get(node) ?? [];
  if (list.length === 0) return 'nothing new';
  const r = list[0];
  return `${shortLabel(r.from)} .${r.label}`;
}
function label(node) {
  const t = type(node);
  const n = name(node);
  if (t === 'closure') return `closure ${closureLabel(node)}`;
  if (t === 'object' && n === 'system / Context') return `context of ${contextOwner(node)}`;
  if (t === 'object' && n === 'Object') return `object {${keysOf(node)}}`;
  if (t === 'object' && n === 'Promise') {
    const reactions = edge(node, 'reactions_or_result');
    if (reactions >= 0 && name(reactions) === 'system / PromiseReaction')
      return `Promise, then ${reactionLabel(reactions)}`;
    return `Promise held by ${heldBy(node)}`;
  }
  if (t === 'object' && n === 'Generator') return `async frame of ${generatorLabel(node)}`;
  if (n === 'system / PromiseReaction') return `PromiseReaction → ${reactionLabel(node)}`;
  if (
    t === 'array' ||
    t === 'string' ||
    t === 'concatenated string' ||
    t === 'sliced string' ||
    t === 'number' ||
    n === 'system / PropertyArray' ||
    t === 'hidden'
  )
    return `${t}${t === 'hidden' ? ` ${n}` : ''} held by ${heldBy(node)}`;
  return `${t} ${n.slice(0, 60)}`;
}

const byLabel = new Map();
const byKind = new Map();
let total = 0;
for (let node = 0; node < count; node++) {
  if (!isNew(node)) continue;
  const t = type(node);
  if (t === 'code' || t === 'object shape') continue; // compiled code and maps, not per run
  const bytes = size(node);
  total += bytes;
  const key = label(node);
  const group = byLabel.get(key) ?? { count: 0, size: 0 };
  group.count++;
  group.size += bytes;
  if (withHolders) {
    group.holders ??= new Map();
    const r = (retainers.get(node) ?? [])[0];
    const holder = r ? `${label(r.from)} .${r.label}` : '(a root)';
    group.holders.set(holder, (group.holders.get(holder) ?? 0) + 1);
  }
  byLabel.set(key, group);
  const n = name(node);
  const kind =
    t === 'object' && ['system / Context', 'Promise', 'Object', 'Generator', 'Array'].includes(n)
      ? n.replace('system / ', '').toLowerCase()
      : t === 'object'
        ? 'object (class instances)'
        : n === 'system / PromiseReaction'
          ? 'promise reaction'
          : t.includes('string')
            ? 'string'
            : t;
  const k = byKind.get(kind) ?? { count: 0, size: 0 };
  k.count++;
  k.size += bytes;
  byKind.set(kind, k);
}
const row = (group, key) =>
  `${(group.size / runs).toFixed(0).padStart(6)} B ${(group.count / runs).toFixed(2).padStart(6)}× ${key}`;
console.log(`${(total / runs).toFixed(0)} B per run new in the second snapshot (code and maps left out)\n`);
for (const [key, group] of [...byKind].sort((a, b) => b[1].size - a[1].size)) console.log(row(group, key));
console.log('');
for (const [key, group] of [...byLabel].sort((a, b) => b[1].size - a[1].size).slice(0, Number(topText)))
  if (group.count >= runs / 2) {
    console.log(row(group, key));
    if (withHolders) {
      const [holder] = [...group.holders].sort((a, b) => b[1] - a[1])[0];
      console.log(`${' '.repeat(18)}← ${holder}`);
    }
  }
