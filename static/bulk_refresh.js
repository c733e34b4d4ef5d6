// The bulk refresh page: "Refresh all" posts the batches one after the other and draws the
// progress bar. Each batch is the form's POST, asking for JSON (the answer of POST
// /admin/bulk-refresh); the next one starts after the cursor the last one answered. Without
// this script, the form's own button posts one batch per click.
(function () {
  "use strict";
  var form = document.getElementById("bulk-apply");
  if (!form || !window.fetch) { return; }
  var all = document.getElementById("bulk-all"), stop = document.getElementById("bulk-stop");
  var bar = document.getElementById("bulk-progress"), text = document.getElementById("bulk-progress-text");
  var log = document.getElementById("bulk-log"), stopping = false;
  var totals = { created: 0, waiting: 0, skipped: 0 };
  all.hidden = false;

  function field(name) { return form.querySelector("input[name='" + name + "']"); }

  function show(done, matched) {
    bar.max = Math.max(matched, done);
    bar.value = done;
    text.textContent = done + " of " + matched + " done";
  }

  function finish(message) {
    all.hidden = true;
    stop.hidden = true;
    log.textContent = message;
  }

  function batch() {
    return fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) { throw new Error("the batch failed (HTTP " + response.status + "); reload to see why"); }
      return response.json();
    }).then(function (answer) {
      var done = parseInt(field("done").value, 10) + answer.processed;
      field("done").value = done;
      field("cursor").value = answer.next_cursor;
      totals.created += answer.created_jobs;
      totals.waiting += answer.already_waiting;
      totals.skipped += answer.skipped.length;
      show(done, answer.matched);
      var counts = totals.created + " jobs created, " + totals.waiting + " already waiting, " + totals.skipped + " skipped";
      if (!answer.next_cursor) {
        document.getElementById("bulk-next").hidden = true;
        finish("Finished: " + counts + ".");
        return;
      }
      if (stopping) { finish("Stopped: " + counts + ". The next batch starts where this one ended."); all.hidden = false; return; }
      log.textContent = "Running: " + counts + "…";
      return batch();
    });
  }

  all.addEventListener("click", function () {
    stopping = false;
    all.hidden = true;
    stop.hidden = false;
    batch().catch(function (error) { finish("Stopped: " + error.message + "."); });
  });
  stop.addEventListener("click", function () { stopping = true; stop.hidden = true; });
})();
