// The dashboard's auto-refresh switch (a file of its own: the pages allow no inline script).
(function () {
  var box = document.getElementById("auto-refresh"), key = "console-auto-refresh", timer = null;
  function schedule() { clearTimeout(timer); if (box.checked) { timer = setTimeout(function () { location.reload(); }, 15000); } }
  box.checked = localStorage.getItem(key) === "1";
  box.addEventListener("change", function () { localStorage.setItem(key, box.checked ? "1" : "0"); schedule(); });
  schedule();
})();
