// Import page: files dropped on the zone join the file input; a job's page (import or checks) polls its progress.
"use strict";
(function () {
  function setupDropzone() {
    const zone = document.getElementById("dropzone");
    const input = document.querySelector("#import-form input[type=file]");
    if (!zone || !input) return;
    const shown = document.getElementById("dropped");
    const show = () => {
      shown.textContent = Array.from(input.files).map((f) => f.name).join(", ");
    };
    ["dragenter", "dragover"].forEach((name) =>
      zone.addEventListener(name, (e) => { e.preventDefault(); zone.classList.add("over"); }));
    ["dragleave", "drop"].forEach((name) =>
      zone.addEventListener(name, (e) => { e.preventDefault(); zone.classList.remove("over"); }));
    zone.addEventListener("drop", (e) => {
      const all = new DataTransfer();
      Array.from(input.files).forEach((f) => all.items.add(f));
      Array.from(e.dataTransfer.files).forEach((f) => all.items.add(f));
      input.files = all.files;
      show();
    });
    input.addEventListener("change", show);
    show(); // files chosen before the script ran (a slow load, or the back button) are named too
  }

  function cell(row, text) {
    const td = row.insertCell();
    td.textContent = text;
    return td;
  }

  function render(box, data) {
    document.getElementById("job-state").textContent = data.state;
    document.getElementById("job-count").textContent = data.processed + "/" + data.total;
    document.getElementById("job-bar").style.width = data.percent + "%";
    const error = document.getElementById("job-error");
    error.textContent = data.error;
    error.hidden = !data.error;
    if (!data.finished && data.kind !== "check") return; // an import's results come at its end, checks' as they go
    document.getElementById("job-summary").textContent = data.summary_text;
    const body = document.querySelector("#job-results tbody");
    body.replaceChildren();
    data.results.forEach((r) => {
      const row = body.insertRow();
      row.className = "result-" + r.result;
      cell(row, r.name);
      cell(row, r.result);
      const account = cell(row, "");
      if (r.account_id) {
        const link = document.createElement("a");
        link.href = box.dataset.accountUrl.replace("/0/", "/" + r.account_id + "/");
        link.textContent = "#" + r.account_id;
        account.appendChild(link);
      }
      cell(row, r.reason);
    });
    if (data.finished) box.dataset.finished = "1";
  }

  function poll() {
    const box = document.getElementById("job");
    if (!box || box.dataset.finished === "1") return;
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((data) => { render(box, data); if (!data.finished) setTimeout(poll, 500); })
      .catch(() => setTimeout(poll, 2000));
  }

  document.addEventListener("DOMContentLoaded", () => { setupDropzone(); poll(); });
})();
