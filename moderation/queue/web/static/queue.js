/* Keyboard shortcuts for the review queue (no build step, no inline script: the CSP forbids it).
   j/k move, x remove, a keep, e escalate, 1-9 pick a reason, s select, u undo, ? help. */
(function () {
  "use strict";
  var items = Array.prototype.slice.call(document.querySelectorAll("article.comment"));
  var current = 0;
  var help = document.getElementById("help");

  function focusItem(i) {
    if (!items.length) { return; }
    current = Math.max(0, Math.min(items.length - 1, i));
    items.forEach(function (el, j) {
      el.classList.toggle("current", j === current);
      if (j === current) { el.setAttribute("aria-current", "true"); } else { el.removeAttribute("aria-current"); }
    });
    items[current].scrollIntoView({ block: "nearest" });
  }

  function act(action) {
    var el = items[current];
    if (!el) { return; }
    var button = el.querySelector('button[name="action"][value="' + action + '"]');
    if (button) { button.click(); }
  }

  function pickReason(n) {
    var el = items[current];
    var select = el && el.querySelector('select[name="reason_code"]');
    if (select && n < select.options.length) { select.selectedIndex = n; }
  }

  function toggleHelp(show) {
    if (help) { help.hidden = show === undefined ? !help.hidden : !show; }
  }

  var helpButton = document.getElementById("help-button");
  if (helpButton) { helpButton.addEventListener("click", function () { toggleHelp(); }); }
  items.forEach(function (el, i) { el.addEventListener("click", function () { focusItem(i); }); });

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var t = ev.target;
    if (t && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type !== "checkbox"))) { return; }
    var key = ev.key;
    if (key >= "1" && key <= "9") { pickReason(parseInt(key, 10)); ev.preventDefault(); return; }
    switch (key) {
      case "j": focusItem(current + 1); break;
      case "k": focusItem(current - 1); break;
      case "x": act("remove"); break;
      case "a": act("keep"); break;
      case "e": act("escalate"); break;
      case "s":
        var box = items[current] && items[current].querySelector('input[type="checkbox"]');
        if (box) { box.checked = !box.checked; }
        break;
      case "u":
        var undo = document.getElementById("undo-form");
        if (undo) { undo.submit(); }
        break;
      case "?": toggleHelp(); break;
      case "Escape": toggleHelp(false); break;
      default: return;
    }
    ev.preventDefault();
  });

  focusItem(0);
}());
