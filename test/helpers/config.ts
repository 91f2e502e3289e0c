import { join } from "node:path";
import { parseConfig } from "../../src/config/load.js";
import type { ProducerConfig } from "../../src/index.js";

/** A validated config from YAML text, as if read from `<dir>/producer.yaml`. */
export function configFrom(yaml: string, dir = "/tmp/producer-test-project"): ProducerConfig {
  return parseConfig(yaml, join(dir, "producer.yaml"), {});
}
