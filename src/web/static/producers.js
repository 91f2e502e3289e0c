// The Producers panel: which `producer run` processes beat in the last day, from their
// heartbeat rows in the ledger. Self-contained: one render function over /api/state.

import { byId, fill, h } from "./dom.js";
import { ago, utc } from "./format.js";

const STATE_LABEL = { running: "running", stale: "not beating", stopped: "stopped" };

/** @param {any} s the state @param {number} now */
export function renderProducers(s, now) {
  const producers = s.producers ?? [];
  byId("producers-empty").hidden = producers.length > 0;
  fill(
    byId("producers-list"),
    producers.map((p) =>
      h(
        "li",
        { dataset: { state: p.state, identity: p.identity } },
        h("span", { class: "when", title: utc(p.lastBeatAt) }, ago(p.lastBeatAt, now)),
        h(
          "span",
          { class: "what" },
          h(
            "span",
            { class: "producer-state", dataset: { state: p.state } },
            STATE_LABEL[p.state] ?? p.state,
          ),
          ` ${p.host} · pid ${p.pid}${p.once ? " · --once" : ""}`,
        ),
        h(
          "span",
          { class: "details" },
          `since ${utc(p.startedAt)} · last beat ${utc(p.lastBeatAt)}${p.stoppedAt ? ` · stopped ${utc(p.stoppedAt)}` : ""}`,
        ),
      ),
    ),
  );
}
