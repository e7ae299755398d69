// The knowledge base's editor (templates/knowledge/editor.html): an image pasted or dropped
// into the Markdown textarea is uploaded as an attachment of the article (POST to the
// textarea's data-upload-url with the page's CSRF token), then `![name](url)` is put where the
// cursor was. The live preview is htmx's (it listens for "input" and "kb-inserted").
(() => {
  const area = document.querySelector("textarea.kb-body-input");
  if (!area) return;
  const form = area.form;
  const status = form.querySelector(".kb-upload-status");
  const uploadUrl = area.dataset.uploadUrl;
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]");

  const say = (text, ok = false) => {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("ok", ok);
  };

  // put `text` in place of the selection, keeping what is around it
  const insert = (text) => {
    const start = area.selectionStart;
    const end = area.selectionEnd;
    const before = area.value.slice(0, start);
    const gap = before && !before.endsWith("\n") ? "\n" : "";
    area.value = before + gap + text + "\n" + area.value.slice(end);
    const at = start + gap.length + text.length + 1;
    area.setSelectionRange(at, at);
    area.dispatchEvent(new Event("kb-inserted", { bubbles: true }));
  };

  const upload = async (file) => {
    const body = new FormData();
    const name = file.name && file.name !== "image.png" ? file.name : `image-${Date.now()}.${(file.type.split("/")[1] || "png").replace("jpeg", "jpg")}`;
    body.append("file", file, name);
    say(area.dataset.uploading || "…", true);
    try {
      const response = await fetch(uploadUrl, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf ? csrf.value : "", Accept: "application/json" },
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok || !answer.markdown) {
        say(answer.error || area.dataset.uploadFailed || "Upload failed");
        return;
      }
      insert(answer.markdown);
      say("");
    } catch (error) {
      say(area.dataset.uploadFailed || "Upload failed");
    }
  };

  const imagesOf = (items) => Array.from(items || []).filter((file) => file && file.type && file.type.startsWith("image/"));

  area.addEventListener("paste", (event) => {
    const files = imagesOf(Array.from(event.clipboardData ? event.clipboardData.items : []).map((item) => (item.kind === "file" ? item.getAsFile() : null)));
    if (!files.length) return;
    event.preventDefault();
    if (!uploadUrl) { say(document.getElementById("kb-upload-help").textContent); return; }
    files.forEach(upload);
  });
  area.addEventListener("dragover", (event) => {
    if (event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files")) {
      event.preventDefault();
      area.classList.add("dragging");
    }
  });
  area.addEventListener("dragleave", () => area.classList.remove("dragging"));
  area.addEventListener("drop", (event) => {
    area.classList.remove("dragging");
    const files = imagesOf(event.dataTransfer ? event.dataTransfer.files : []);
    if (!files.length) return;
    event.preventDefault();
    if (!uploadUrl) { say(document.getElementById("kb-upload-help").textContent); return; }
    files.forEach(upload);
  });
})();
