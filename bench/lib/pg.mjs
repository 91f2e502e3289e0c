// The PostgreSQL server the benchmarks use, and a fresh schema on it for each run.
import postgres from "postgres";

/** BENCH_PG_URL, else the server every machine of this kind runs. */
export const PG_URL = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

let n = 0;
/** A schema name of its own for one side of one run. */
export const benchSchema = (tag) => `bench_${tag}_${process.pid}_${++n}`;

/** Runs `work` with an admin connection; drops every schema it created afterwards. */
export async function withServer(work) {
  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
  const made = [];
  try {
    await admin`SELECT 1`;
  } catch (error) {
    await admin.end({ timeout: 1 });
    return { unreachable: `PostgreSQL at ${PG_URL} is unreachable (${error.message})` };
  }
  try {
    return await work({
      fresh: async (tag) => {
        const schema = benchSchema(tag);
        made.push(schema);
        await admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        return schema;
      },
    });
  } finally {
    for (const schema of made) await admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end({ timeout: 5 });
  }
}

/** A pg-boss instance on `schema`, with its timers off: only the calls we make run. */
export async function openPgBoss(schema) {
  const { default: PgBoss } = await import("pg-boss");
  const boss = new PgBoss({
    connectionString: PG_URL,
    schema,
    max: 4,
    supervise: false,
    schedule: false,
  });
  boss.on("error", () => {});
  await boss.start();
  await boss.createQueue("code");
  return boss;
}
