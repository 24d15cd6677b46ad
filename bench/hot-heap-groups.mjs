// Groups heap snapshots by node type and name (count and self size) and prints what the second
// holds more than the first, per run: `node bench/hot-heap-groups.mjs <before> <after> [runs] [top]`.
import { readFileSync } from 'node:fs';

const [beforeFile, file, runsText = '1', topText = '40'] = process.argv.slice(2);
const runs = Number(runsText);
function groupsOf(path) {
  const snapshot = JSON.parse(readFileSync(path, 'utf8'));
  const { node_fields: fields, node_types: types } = snapshot.snapshot.meta;
  const typeNames = types[0];
  const width = fields.length;
  const at = (name) => fields.indexOf(name);
  const [typeAt, nameAt, sizeAt] = [at('type'), at('name'), at('self_size')];
  const groups = new Map();
  const nodes = snapshot.nodes;
  for (let index = 0; index < nodes.length; index += width) {
    const type = typeNames[nodes[index + typeAt]];
    let name = snapshot.strings[nodes[index + nameAt]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(string)';
    if (type === 'number') name = '(number)';
    if (name.length > 60) name = `${name.slice(0, 60)}…`;
    const key = `${type} ${name}`;
    const group = groups.get(key) ?? { count: 0, size: 0 };
    group.count++;
    group.size += nodes[index + sizeAt];
    groups.set(key, group);
  }
  return groups;
}
const base = groupsOf(beforeFile);
const groups = new Map();
for (const [key, group] of groupsOf(file)) {
  const earlier = base.get(key) ?? { count: 0, size: 0 };
  groups.set(key, { count: group.count - earlier.count, size: group.size - earlier.size });
}
const sorted = [...groups].sort((a, b) => b[1].size - a[1].size);
let total = 0;
for (const [, group] of sorted) total += group.size;
console.log(`${(total / runs).toFixed(0)} bytes per run more in the second snapshot`);
for (const [key, group] of sorted.slice(0, Number(topText)))
  console.log(
    `${(group.size / runs).toFixed(0).padStart(6)} B ${(group.count / runs).toFixed(2).padStart(6)}× ${key}`,
  );
