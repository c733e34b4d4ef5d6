// The dashboard's builder-name counts (a file of its own: the pages allow no inline script).
// They read every dataset-info entry: loaded apart, their table swapped in. The counts and
// tables around them are kept current by static/live.js.
(function () {
  var slot = document.getElementById("builder-names-slot");
  if (slot) {
    fetch(slot.dataset.src, {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var table = new DOMParser().parseFromString(html, "text/html").getElementById("builder-names");
        if (table) { slot.replaceWith(table); }
      })
      .catch(function () {});
  }
})();
