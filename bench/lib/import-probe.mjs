// Child process for cold-import timing: imports the given specifiers in order and prints the ms taken.
const specifiers = JSON.parse(process.argv[2] ?? '[]');
const start = process.hrtime.bigint();
for (const specifier of specifiers) await import(specifier);
const ms = Number(process.hrtime.bigint() - start) / 1e6;
process.stdout.write(`${JSON.stringify({ ms })}\n`);
// Some frameworks leave timers or handles open after import; the measurement is done.
process.exit(0);
