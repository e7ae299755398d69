// The process designer (/workflow/designer/): the bpmn-js modeler with the Camunda 7
// properties panel, and the page's actions against the REST API (open a deployed process,
// validate, simulate, deploy, translate its names). The page
// (templates/workflow/designer.html) provides the elements below and a JSON configuration
// (#designer-config): the API URLs, the CSRF token, the page's language (the modeler and its
// panel speak it: ./i18n.js) and every label in the user's language.

import BpmnModeler from "bpmn-js/lib/Modeler";
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule,
} from "bpmn-js-properties-panel";
import CamundaBehaviorsModule from "camunda-bpmn-js-behaviors/lib/camunda-platform";
import camundaModdle from "camunda-bpmn-moddle/resources/camunda.json";

import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css";
import "@bpmn-io/properties-panel/dist/assets/properties-panel.css";
import "./markers.css";
import { translateModule } from "./i18n.js";

const OVERLAY_PROBLEM = "designer-problem";
const MARKERS = ["has-error", "sim-path", "sim-end", "sim-waiting"];

// A new diagram: one executable process with a start event, Camunda namespace declared.
function emptyDiagram() {
  const suffix = Math.random().toString(36).slice(2, 9);
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_${suffix}" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="Process_${suffix}" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="Process_${suffix}">
      <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1">
        <dc:Bounds x="180" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>`;
}

function $(selector) {
  return document.querySelector(selector);
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

class Designer {
  constructor(config) {
    this.config = config;
    this.labels = config.labels;
    this.sourceName = "";
    this.openKey = ""; // the deployed process open now (its translations panel)
    this.dirty = false;
    this.marked = new Map(); // element id -> set of our markers on it
    this.modeler = new BpmnModeler({
      container: "#designer-canvas",
      propertiesPanel: { parent: "#designer-properties" },
      additionalModules: [
        BpmnPropertiesPanelModule,
        BpmnPropertiesProviderModule,
        CamundaPlatformPropertiesProviderModule,
        CamundaBehaviorsModule,
        translateModule(config.language),
      ],
      moddleExtensions: { camunda: camundaModdle },
    });
    this.modeler.on("commandStack.changed", () => {
      this.dirty = true;
    });
    this.bind();
  }

  // --- the page's controls ------------------------------------------------------------------

  bind() {
    $("#designer-new").addEventListener("click", () => this.newDiagram());
    $("#designer-open-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("#designer-process").value;
      if (key) this.openDeployed(key);
    });
    $("#designer-file").addEventListener("change", (event) => {
      const [file] = event.target.files;
      if (file) this.openFile(file);
      event.target.value = "";
    });
    $("#designer-download").addEventListener("click", () => this.download());
    $("#designer-validate").addEventListener("click", () => this.validate());
    $("#designer-deploy").addEventListener("click", () => this.confirmDeploy());
    $("#designer-deploy-dialog").addEventListener("close", (event) => {
      if (event.target.returnValue === "deploy") this.deploy();
    });
    $("#designer-simulate-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.simulate();
    });
    $("#designer-problems").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-element]");
      if (button) this.focusElement(button.dataset.element);
    });
    $("#designer-translations-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveTranslations();
    });
    window.addEventListener("beforeunload", (event) => {
      if (this.dirty) event.preventDefault();
    });
  }

  status(text, kind = "info") {
    const box = $("#designer-status");
    box.textContent = text;
    box.className = `designer-status ${kind}`;
    box.hidden = !text;
  }

  busy(on) {
    const buttons = ".designer-toolbar button, #designer-simulate-form button, #designer-translations-form button";
    for (const button of document.querySelectorAll(buttons)) {
      button.disabled = on;
    }
  }

  leaveUnsaved() {
    return !this.dirty || window.confirm(this.labels.discard_changes);
  }

  // --- loading and saving -------------------------------------------------------------------

  async importXml(xml, sourceName) {
    this.clearAll();
    try {
      const { warnings } = await this.modeler.importXML(xml);
      this.sourceName = sourceName;
      this.dirty = false;
      this.fit();
      $("#designer-current").textContent = sourceName || this.labels.untitled;
      if (warnings.length) {
        this.status(`${this.labels.import_warnings} ${warnings.map((w) => w.message).join("; ")}`, "warning");
      } else {
        this.status(this.labels.opened.replace("%(name)s", sourceName || this.labels.untitled), "success");
      }
      document.body.dataset.designerLoaded = sourceName || "new";
      return true;
    } catch (error) {
      this.status(`${this.labels.import_failed} ${error.message}`, "error");
      return false;
    }
  }

  // The whole diagram in view, never larger than 100 %, clear of the palette: beside it on a
  // wide canvas, below it on a narrow one (a phone).
  fit() {
    const canvas = this.modeler.get("canvas");
    const { inner, outer } = canvas.viewbox();
    if (!inner.width || !outer.width) return;
    const margin = 20;
    const palette = canvas.getContainer().querySelector(".djs-palette");
    const narrow = outer.width < 600;
    let left = margin;
    let top = margin;
    if (palette && narrow) top = palette.offsetTop + palette.offsetHeight + margin / 2;
    else if (palette) left = palette.offsetLeft + palette.offsetWidth + margin;
    const free = { width: outer.width - left - margin, height: outer.height - top - margin };
    if (free.width <= 0 || free.height <= 0) return;
    const scale = Math.min(free.width / inner.width, free.height / inner.height, 1);
    const screenTop = top + (free.height - inner.height * scale) / 2;
    canvas.viewbox({
      x: inner.x - left / scale,
      y: inner.y - screenTop / scale,
      width: outer.width / scale,
      height: outer.height / scale,
    });
  }

  // The address says which deployed process is open (a reload opens it again).
  remember(key) {
    const url = new URL(window.location.href);
    if (key) url.searchParams.set("key", key);
    else url.searchParams.delete("key");
    window.history.replaceState(null, "", url);
  }

  async newDiagram() {
    if (!this.leaveUnsaved()) return;
    if (await this.importXml(emptyDiagram(), "")) {
      this.remember("");
      this.loadTranslations("");
    }
  }

  async openDeployed(key) {
    if (!this.leaveUnsaved()) return;
    this.busy(true);
    try {
      const response = await fetch(this.config.urls.xml.replace("__KEY__", encodeURIComponent(key)), {
        // no Accept header: the API's negotiation knows JSON only, the answer is the XML
        credentials: "same-origin",
      });
      if (!response.ok) {
        this.status(await this.errorMessage(response), "error");
        return;
      }
      if (await this.importXml(await response.text(), `${key}.bpmn`)) {
        this.remember(key);
        await this.loadTranslations(key);
      }
    } catch (error) {
      this.status(this.labels.network_error, "error");
    } finally {
      this.busy(false);
    }
  }

  openFile(file) {
    if (!this.leaveUnsaved()) return;
    file.text().then(
      async (xml) => {
        if (await this.importXml(xml, file.name)) {
          this.remember("");
          this.loadTranslations("");
        }
      },
      () => this.status(this.labels.import_failed, "error"),
    );
  }

  async xml() {
    const { xml } = await this.modeler.saveXML({ format: true });
    return xml;
  }

  async download() {
    const xml = await this.xml();
    const blob = new Blob([xml], { type: "application/xml" });
    const link = element("a", { href: URL.createObjectURL(blob), download: this.fileName() });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  fileName() {
    if (this.sourceName) return this.sourceName.endsWith(".bpmn") ? this.sourceName : `${this.sourceName}.bpmn`;
    const root = this.modeler.get("canvas").getRootElement();
    return `${(root && root.businessObject && root.businessObject.id) || "diagram"}.bpmn`;
  }

  // --- the API ------------------------------------------------------------------------------

  async post(url, body, method = "POST") {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": this.config.csrfToken,
      },
      body: JSON.stringify(body),
    });
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    return { status: response.status, ok: response.ok, data };
  }

  async errorMessage(response) {
    try {
      const body = await response.json();
      return (body.error && body.error.message) || `${response.status}`;
    } catch (error) {
      return `${this.labels.request_failed} (${response.status})`;
    }
  }

  // the error body of portal.api, as one line: message and field errors
  describeError(answer) {
    const error = answer.data && answer.data.error;
    if (!error) return `${this.labels.request_failed} (${answer.status})`;
    const fields = Object.entries(error.fields || {}).map(([name, messages]) => `${name}: ${messages.join(" ")}`);
    return [error.message, ...fields].join(" ");
  }

  async run(action) {
    this.busy(true);
    try {
      return await action();
    } catch (error) {
      this.status(this.labels.network_error, "error");
      return null;
    } finally {
      this.busy(false);
    }
  }

  validate() {
    return this.run(async () => {
      this.clearAll();
      const answer = await this.post(this.config.urls.validate, { xml: await this.xml() });
      if (!answer.ok) {
        this.status(this.describeError(answer), "error");
        return;
      }
      this.showProblems(answer.data.problems);
      if (answer.data.valid) this.status(this.labels.valid, "success");
      else this.status(this.labels.invalid.replace("%(count)s", answer.data.problems.length), "error");
    });
  }

  confirmDeploy() {
    const dialog = $("#designer-deploy-dialog");
    if (typeof dialog.showModal === "function") {
      dialog.returnValue = "";
      dialog.showModal();
    } else if (window.confirm(this.labels.deploy_confirm)) {
      this.deploy();
    }
  }

  deploy() {
    return this.run(async () => {
      this.clearAll();
      const answer = await this.post(this.config.urls.deploy, {
        xml: await this.xml(),
        source_name: this.fileName(),
      });
      if (answer.ok) {
        const versions = answer.data.map((d) =>
          (d.created ? this.labels.deployed_version : this.labels.unchanged_version)
            .replace("%(key)s", d.key)
            .replace("%(version)s", d.version),
        );
        this.dirty = false;
        this.status(versions.join(" "), "success");
        this.showDeployed(answer.data);
        const open = answer.data.find((d) => d.key === this.openKey) || answer.data[0];
        if (open && answer.data.some((d) => d.created)) {
          // a new version may name new steps, fields and options to translate
          this.remember(open.key);
          await this.loadTranslations(open.key);
        }
      } else if (answer.data && answer.data.error && answer.data.error.code === "invalid_bpmn") {
        this.showProblems(answer.data.error.problems || []);
        this.status(answer.data.error.message, "error");
      } else {
        this.status(this.describeError(answer), "error");
      }
    });
  }

  // The list of deployed processes shows each one's latest version: the one just deployed.
  showDeployed(deployed) {
    const select = $("#designer-process");
    for (const { key, version } of deployed) {
      let option = Array.from(select.options).find((o) => o.value === key);
      if (!option) {
        option = element("option", { value: key, "data-name": this.processName() || key });
        select.append(option);
      }
      option.textContent = `${option.dataset.name || key} · ${key} v${version}`;
      option.dataset.version = String(version);
    }
    if (deployed.length) select.value = deployed[0].key;
  }

  processName() {
    const root = this.modeler.get("canvas").getRootElement();
    const process = root && root.businessObject;
    if (!process) return "";
    if (process.processRef) return process.processRef.name || "";
    return process.name || "";
  }

  // --- the translations panel -------------------------------------------------------------

  async loadTranslations(key) {
    this.openKey = key;
    const form = $("#designer-translations-form");
    const empty = $("#designer-translations-empty");
    $("#designer-translations-errors").textContent = "";
    if (!key) {
      form.hidden = true;
      empty.hidden = false;
      return;
    }
    const response = await fetch(this.config.urls.translations.replace("__KEY__", encodeURIComponent(key)), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) {
      form.hidden = true;
      empty.hidden = false;
      return;
    }
    this.renderTranslations(await response.json());
    form.hidden = false;
    empty.hidden = true;
  }

  renderTranslations(data) {
    const labels = this.labels;
    this.translationLanguages = data.languages;
    const table = $("#designer-translations-table");
    const head = element("tr", {}, element("th", { scope: "col", text: labels.translations_source }));
    for (const language of data.languages) {
      head.append(
        element("th", { scope: "col", text: labels.translations_language.replace("%(language)s", language.name) }),
      );
    }
    const body = element("tbody");
    for (const entry of data.entries) {
      const where = element(
        "th",
        { scope: "row" },
        element("span", { class: "designer-translations-kind", text: labels.kinds[entry.kind] || entry.kind }),
        element("span", { class: "designer-translations-source", text: entry.text }),
      );
      if (entry.where) where.append(element("span", { class: "muted designer-translations-context", text: entry.where }));
      const row = element("tr", { "data-entry": entry.entry }, where);
      for (const language of data.languages) {
        const saved = (data.translations[language.code] || {})[entry.entry] || "";
        const attributes = {
          "data-language": language.code,
          "aria-label": `${labels.translations_language.replace("%(language)s", language.name)}: ${entry.text}`,
          lang: language.code,
        };
        const input =
          entry.kind === "description"
            ? element("textarea", { ...attributes, rows: "3" })
            : element("input", { ...attributes, type: "text", maxlength: "255" });
        input.value = saved;
        row.append(element("td", {}, input));
      }
      body.append(row);
    }
    table.replaceChildren(element("thead", {}, head), body);
  }

  collectTranslations() {
    const result = {};
    for (const input of document.querySelectorAll("#designer-translations-table [data-language]")) {
      const text = input.value.trim();
      if (!text) continue;
      const language = input.dataset.language;
      const entry = input.closest("tr").dataset.entry;
      (result[language] = result[language] || {})[entry] = text;
    }
    return result;
  }

  saveTranslations() {
    const errors = $("#designer-translations-errors");
    errors.textContent = "";
    const key = this.openKey;
    if (!key) return null;
    return this.run(async () => {
      const url = this.config.urls.translations.replace("__KEY__", encodeURIComponent(key));
      const answer = await this.post(url, { translations: this.collectTranslations() }, "PUT");
      if (answer.ok) {
        this.renderTranslations(answer.data);
        this.status(this.labels.translations_saved, "success");
      } else {
        const error = (answer.data && answer.data.error) || {};
        const problems = Object.values(error.fields || {}).flat();
        const message = problems.length ? problems.join(" ") : this.describeError(answer);
        errors.textContent = `${this.labels.translations_failed} ${message}`;
        this.status(`${this.labels.translations_failed} ${message}`, "error");
      }
    });
  }

  parseJson(text, what) {
    if (!text.trim()) return {};
    let value;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new Error(this.labels.bad_json.replace("%(what)s", what).replace("%(error)s", error.message));
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new Error(this.labels.not_an_object.replace("%(what)s", what));
    }
    return value;
  }

  simulate() {
    const errors = $("#designer-simulate-errors");
    errors.textContent = "";
    let variables;
    let taskData;
    try {
      variables = this.parseJson($("#sim-variables").value, this.labels.start_variables);
      taskData = this.parseJson($("#sim-task-data").value, this.labels.task_data);
    } catch (error) {
      errors.textContent = error.message;
      return null;
    }
    return this.run(async () => {
      this.clearAll();
      const answer = await this.post(this.config.urls.simulate, {
        xml: await this.xml(),
        variables,
        task_data: taskData,
      });
      if (answer.ok) {
        this.showSimulation(answer.data);
      } else if (answer.data && answer.data.error && answer.data.error.code === "invalid_bpmn") {
        this.showProblems(answer.data.error.problems || []);
        this.status(answer.data.error.message, "error");
      } else {
        this.status(this.describeError(answer), "error");
      }
    });
  }

  // --- marks on the canvas ------------------------------------------------------------------

  mark(id, marker) {
    const registry = this.modeler.get("elementRegistry");
    if (!id || !registry.get(id)) return false;
    this.modeler.get("canvas").addMarker(id, marker);
    if (!this.marked.has(id)) this.marked.set(id, new Set());
    this.marked.get(id).add(marker);
    return true;
  }

  clearAll() {
    const canvas = this.modeler.get("canvas");
    const registry = this.modeler.get("elementRegistry");
    for (const [id, markers] of this.marked) {
      if (registry.get(id)) for (const marker of markers) canvas.removeMarker(id, marker);
    }
    this.marked.clear();
    this.modeler.get("overlays").remove({ type: OVERLAY_PROBLEM });
    $("#designer-problems").replaceChildren();
    $("#designer-problems-box").hidden = true;
    $("#designer-result").replaceChildren();
    $("#designer-result-box").hidden = true;
    this.status("");
  }

  showProblems(problems) {
    const list = $("#designer-problems");
    list.replaceChildren();
    const registry = this.modeler.get("elementRegistry");
    const overlays = this.modeler.get("overlays");
    for (const problem of problems) {
      const target = problem.element_id && registry.get(problem.element_id);
      const item = element("li");
      if (target) {
        this.mark(problem.element_id, "has-error");
        // the root (the process) has no shape to hang an overlay on
        if (target.waypoints || target.width) {
          overlays.add(problem.element_id, OVERLAY_PROBLEM, {
            position: target.waypoints ? { top: 6, left: 0 } : { bottom: -6, left: 0 },
            html: element("div", { class: "designer-problem-overlay", title: problem.message, text: problem.message }),
          });
        }
        item.append(
          element(
            "button",
            { type: "button", class: "linklike", "data-element": problem.element_id },
            element("code", { text: problem.element_id }),
            ` ${problem.message}`,
          ),
        );
      } else {
        const where = problem.element_id ? `${problem.element_id}: ` : `${this.labels.whole_file}: `;
        item.append(element("span", { text: where + problem.message }));
      }
      list.append(item);
    }
    $("#designer-problems-box").hidden = problems.length === 0;
  }

  focusElement(id) {
    const target = this.modeler.get("elementRegistry").get(id);
    if (!target) return;
    this.modeler.get("selection").select(target);
    if (target.waypoints || target.width) this.modeler.get("canvas").scrollToElement(target, 80);
    $("#designer-canvas").scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  showSimulation(result) {
    const path = new Set(result.path);
    for (const id of path) this.mark(id, "sim-path");
    // the flows between two elements the instance went through
    for (const connection of this.modeler.get("elementRegistry").filter((e) => e.waypoints)) {
      if (connection.source && connection.target && path.has(connection.source.id) && path.has(connection.target.id)) {
        this.mark(connection.id, "sim-path");
      }
    }
    for (const id of result.end_events) this.mark(id, "sim-end");
    for (const waiting of result.waiting_at) this.mark(waiting.split(" ")[0], "sim-waiting");
    if (result.error) this.showProblems([result.error]);

    const box = $("#designer-result");
    const labels = this.labels;
    const state = labels.states[result.state] || result.state;
    const facts = element("dl", { class: "facts" });
    const fact = (name, value) => {
      if (value === "" || value === null || value === undefined) return;
      facts.append(element("dt", { text: name }), element("dd", {}, value));
    };
    fact(labels.result_process, result.process);
    fact(labels.result_state, element("span", { class: `tag sim-state-${result.state}`, text: state }));
    if (result.error) fact(labels.result_error, `${result.error.element_id ? `${result.error.element_id}: ` : ""}${result.error.message}`);
    if (result.waiting_at.length) fact(labels.result_waiting, result.waiting_at.join(", "));
    fact(labels.result_path, result.path.join(" → "));
    if (result.user_tasks.length) fact(labels.result_user_tasks, result.user_tasks.join(", "));
    fact(labels.result_steps, String(result.steps));
    box.append(facts);
    if (result.notes.length) {
      box.append(element("h3", { text: labels.result_notes }));
      const notes = element("ul", { class: "designer-notes" });
      for (const note of result.notes) notes.append(element("li", { text: note }));
      box.append(notes);
    }
    box.append(element("h3", { text: labels.result_variables }));
    box.append(element("pre", { class: "designer-variables", text: JSON.stringify(result.variables, null, 2) }));
    $("#designer-result-box").hidden = false;
    this.status(labels.simulated.replace("%(state)s", state), result.state === "error" ? "error" : "success");
  }
}

async function start() {
  const config = JSON.parse(document.getElementById("designer-config").textContent);
  const designer = new Designer(config);
  window.portalDesigner = designer; // for the browser tests and the console
  if (config.initialKey) await designer.openDeployed(config.initialKey);
  else if (await designer.importXml(emptyDiagram(), "")) designer.loadTranslations("");
  document.body.dataset.designerReady = "true";
}

start();
