import { describeLedgerContract } from "./contract/index.js";
import { openPostgresLedger } from "./contract/postgres.js";
import { describePostgres } from "./helpers/postgres.js";

describePostgres("PostgreSQL backend", () => {
  describeLedgerContract("PostgreSQL", openPostgresLedger);
});
