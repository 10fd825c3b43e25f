import { makeVector, Table } from "apache-arrow";
const { publish } = await import(`${process.argv[2]}/lib/index.ts`);
const rows = (64 << 20) / 8 / 4;
const table = new Table(Object.fromEntries([0, 1, 2, 3].map((k) => [`c${k}`, makeVector(Float64Array.from({ length: rows }, (_, i) => i * k))])));
publish(`fault-warm-${process.pid}`, table).unpublish();
const before = process.resourceUsage().minorPageFault;
const p = publish(`fault-${process.pid}`, table);
console.log("faults", process.resourceUsage().minorPageFault - before, "pages", (64 << 20) / 4096);
p.unpublish();
