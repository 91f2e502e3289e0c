import { describeLedgerContract } from "./contract/index.js";
import { openPostgresLedger } from "./contract/postgres.js";

describeLedgerContract("PostgreSQL", openPostgresLedger);
