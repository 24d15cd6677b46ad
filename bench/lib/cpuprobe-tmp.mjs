const specifiers = JSON.parse(process.argv[2] ?? '[]');
const c0 = process.cpuUsage();
const start = process.hrtime.bigint();
for (const specifier of specifiers) await import(specifier);
const ms = Number(process.hrtime.bigint() - start) / 1e6;
const c = process.cpuUsage(c0);
process.stdout.write(`${JSON.stringify({ ms, cpu: (c.user + c.system) / 1000 })}\n`);
process.exit(0);
