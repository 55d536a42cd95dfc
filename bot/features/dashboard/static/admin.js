// Small helpers for the staff pages; no library, nothing fetched from elsewhere.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // One tap sends once: a second tap on a slow tablet would only repeat the same request.
  var buttons = form.querySelectorAll("button[type=submit]");
  window.setTimeout(function () {
    buttons.forEach(function (b) { b.disabled = true; });
  }, 0);
});

// The content page's steps are collapsed: a link to a step opens it (and the browser scrolls to it), and
// "すべて開く" / "すべて閉じる" open or close every step of that flow.
function openStep(hash) {
  var target = hash && document.getElementById(decodeURIComponent(hash.slice(1)));
  if (target && target.tagName === "DETAILS") {
    target.open = true;
    target.scrollIntoView();
    target.querySelector("summary").focus();
  }
}
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("a[data-open-step]");
  if (link) {
    event.preventDefault();
    history.pushState(null, "", link.getAttribute("href"));
    openStep(link.getAttribute("href"));
    return;
  }
  var tool = event.target.closest && event.target.closest("button[data-steps]");
  if (tool) {
    var open = tool.getAttribute("data-steps") === "open";
    tool.closest("section").querySelectorAll("details.step").forEach(function (d) { d.open = open; });
  }
});
window.addEventListener("hashchange", function () { openStep(location.hash); });
document.addEventListener("DOMContentLoaded", function () { openStep(location.hash); });
