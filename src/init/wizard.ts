/**
 * The three questions of `producer init` on a terminal, and the answers used without one.
 * The prompts library loads only when a question is really asked.
 */
import { randomInt } from "node:crypto";
import { basename } from "node:path";
import type { Readable, Writable } from "node:stream";
import { producerYamlSchema } from "../config/schema.js";
import { ProducerError } from "../errors.js";
import type { InitAnswers } from "./config-file.js";

/** The user backed out of the wizard; nothing was written. Exit code 130, as for Ctrl-C. */
export class InitCancelled extends ProducerError {
  override readonly exitCode = 130;
  constructor() {
    super("init cancelled: nothing was written");
  }
}

/** The default project name: the folder's name. */
export function folderName(dir: string): string {
  return basename(dir) || "my-project";
}

/**
 * Answers without a terminal: names from the folder, and no ntfy topic. A topic is public to
 * whoever knows its name, so one is only chosen when someone is there to see and keep it.
 */
export function defaultAnswers(dir: string): InitAnswers {
  const projectName = folderName(dir);
  return { projectName, ntfyTopic: "", subjectPrefix: projectName };
}

const SUFFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** Six random letters and digits: enough that nobody stumbles on the topic by guessing. */
export function randomSuffix(): string {
  return Array.from({ length: 6 }, () => SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)]).join(
    "",
  );
}

/**
 * The suggested ntfy topic, `<slug>-<6 random chars>`, within ntfy's 64-character limit. A name
 * with nothing usable for a slug (only punctuation, another script) gets `producer`.
 */
export function suggestTopic(projectName: string, suffix = randomSuffix()): string {
  const slug = projectName
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64 - suffix.length - 1)
    .replace(/-+$/, "");
  return `${slug || "producer"}-${suffix}`;
}

/** The topic rule of producer.yaml itself, so the wizard never accepts what the loader refuses. */
function topicProblem(topic: string): string | undefined {
  const result = producerYamlSchema.shape.notifications.safeParse({ ntfy_topic: topic });
  return result.success ? undefined : (result.error.issues[0]?.message ?? "is not a valid topic");
}

/** Where the wizard reads and writes: the terminal, in practice. */
export interface WizardIo {
  input: Readable;
  output: Writable;
}

/**
 * Asks for the project name, the ntfy topic and the subject prefix, each with its default.
 *
 * @throws InitCancelled when the user presses Ctrl-C (or Escape) at any question.
 */
export async function askAnswers(dir: string, io: WizardIo): Promise<InitAnswers> {
  const clack = await import("@clack/prompts");
  const common = { input: io.input, output: io.output };
  const answered = (value: string | symbol | undefined): string => {
    if (clack.isCancel(value)) {
      clack.cancel("Cancelled: nothing was written.", common);
      throw new InitCancelled();
    }
    return typeof value === "string" ? value : "";
  };

  clack.intro("producer init", common);
  const fallbackName = folderName(dir);
  const name = answered(
    await clack.text({
      ...common,
      message: "Project name",
      placeholder: fallbackName,
      defaultValue: fallbackName,
    }),
  );
  const projectName = name.trim() || fallbackName;

  // Prefilled rather than a default, so clearing the field is how push is turned off.
  const topic = answered(
    await clack.text({
      ...common,
      message: "ntfy topic for push notifications (public to whoever knows it; clear it for none)",
      initialValue: suggestTopic(projectName),
      validate: (value) => {
        const problem = topicProblem((value ?? "").trim());
        return problem ? `The topic ${problem}` : undefined;
      },
    }),
  );

  const prefix = answered(
    await clack.text({
      ...common,
      message: "Subject prefix of notification titles",
      placeholder: projectName,
      defaultValue: projectName,
    }),
  );
  clack.outro("Writing the project.", common);
  return {
    projectName,
    ntfyTopic: topic.trim(),
    subjectPrefix: prefix.trim() || projectName,
  };
}
