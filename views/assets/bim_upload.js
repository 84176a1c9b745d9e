/* The BIM screen's upload: the IFC file goes to POST /api/v1/bim/uploads with its progress shown, then the
 * conversion job is followed (/api/v1/jobs/{id}) until the model stands in the city, and the map opens on it.
 * The screen is drawn by Dash (views/bim_page.py); this only listens for its button.
 */
(function () {
  "use strict";

  function cookie(name) {
    const hit = document.cookie.split("; ").find(function (c) { return c.startsWith(name + "="); });
    return hit ? decodeURIComponent(hit.slice(name.length + 1)) : "";
  }

  function say(text, failed) {
    const el = document.getElementById("bim-upload-status");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("error", Boolean(failed));
  }

  function bar(share) {
    const el = document.getElementById("bim-upload-progress");
    if (el) el.value = Math.max(0, Math.min(1, share));
  }

  // The map's link for a model is the server's (GET /api/v1/bim/models names each model's "map").
  async function mapLink(id) {
    const r = await fetch("/api/v1/bim/models");
    const answer = await r.json();
    if (!r.ok) throw new Error(answer.error || String(r.status));
    const model = answer.models.find(function (m) { return m.id === id; });
    if (!model) throw new Error("the model " + id + " is not in the city's list");
    return model.map;
  }

  async function follow(job) {
    for (;;) {
      await new Promise(function (done) { setTimeout(done, 700); });
      let now;
      try {
        const r = await fetch("/api/v1/jobs/" + encodeURIComponent(job.id));
        now = await r.json();
        if (!r.ok) throw new Error(now.error || String(r.status));
      } catch (err) {
        say("could not follow the conversion: " + err.message + "; see the Admin screen's jobs", true);
        return;
      }
      bar(0.5 + 0.5 * now.progress);
      if (now.status === "failed") { say("not loaded: " + now.error, true); return; }
      if (now.status === "succeeded") {
        const model = now.result.models[0];
        const warned = model.warnings.length ? " (" + model.warnings.length + " warning" +
          (model.warnings.length > 1 ? "s" : "") + ": " + model.warnings[0] + ")" : "";
        say("placed " + (model.name || model.id) + ": " + model.storeys + " storeys, " + model.elements +
            " elements, by " + model.method + warned + "; opening the map…");
        let link;
        try {
          link = await mapLink(model.id);
        } catch (err) {
          say("placed " + (model.name || model.id) + ", but the map's link could not be read: " + err.message, true);
          return;
        }
        document.body.dataset.bimLoaded = model.id;
        setTimeout(function () { window.location.assign(link); }, 1200);
        return;
      }
      say("converting: " + now.message + " (" + Math.round(100 * now.progress) + "%)");
    }
  }

  function upload() {
    const input = document.getElementById("bim-file");
    const file = input && input.files && input.files[0];
    if (!file) { say("choose an .ifc or .ifczip file first", true); return; }
    const limit = Number(document.getElementById("bim-upload").dataset.limitMb || "0");
    if (limit && file.size > limit * 1024 * 1024) {
      say(file.name + " is " + (file.size / 1e6).toFixed(1) + " MB; uploads take at most " + limit + " MB", true);
      return;
    }
    const q = new URLSearchParams({name: file.name});
    const anchor = document.getElementById("bim-anchor").value.trim();
    const rotation = document.getElementById("bim-rotation").value.trim();
    if (anchor) q.set("anchor", anchor);
    if (rotation) q.set("rotation", rotation);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/bim/uploads?" + q.toString());
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-CSRFToken", cookie("_csrf_token"));
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      bar(0.5 * e.loaded / e.total);
      say("uploading " + file.name + ": " + Math.round(100 * e.loaded / e.total) + "% of " +
          (e.total / 1e6).toFixed(1) + " MB");
    });
    xhr.addEventListener("load", function () {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { /* not JSON */ }
      if (xhr.status !== 202) { say("not loaded: " + (body.error || "the server answered " + xhr.status), true); return; }
      bar(0.5);
      say("uploaded " + file.name + "; converting…");
      follow(body.job);
    });
    xhr.addEventListener("error", function () { say("the upload was cut off; try again", true); });
    say("uploading " + file.name + "…");
    xhr.send(file);
  }

  // Dash draws the screen without a file chooser (it has none that streams): put one in its slot.
  function fileChooser() {
    const slot = document.getElementById("bim-file-slot");
    if (!slot || slot.querySelector("input")) return;
    const input = document.createElement("input");
    input.type = "file";
    input.id = "bim-file";
    input.accept = ".ifc,.ifczip";
    slot.appendChild(input);
  }
  new MutationObserver(fileChooser).observe(document.documentElement, {childList: true, subtree: true});

  document.addEventListener("click", function (e) {
    if (e.target && e.target.id === "bim-upload") { e.preventDefault(); upload(); }
  });
})();
