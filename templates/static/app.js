// Tanggap: a little progressive enhancement. Every form works without this file.
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  // Step 1, stay calm: live warnings under every reply box, from the same check the API runs.
  function calmCheck(textarea) {
    var list = textarea.parentNode.querySelector(".warnings");
    if (!list) return;
    var locale = document.body.getAttribute("data-locale") || "id";
    var run = debounce(function () {
      var text = textarea.value;
      if (!text.trim()) { list.textContent = ""; return; }
      fetch("/api/tone-check", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text: text, locale: locale })
      }).then(function (r) { return r.ok ? r.json() : { warnings: [] }; }).then(function (data) {
        list.textContent = "";
        (data.warnings || []).forEach(function (w) {
          var li = document.createElement("li");
          li.className = "warning warning-" + w.kind;
          li.textContent = "\u201C" + w.excerpt + "\u201D \u2014 " + w.advice;
          list.appendChild(li);
        });
      }).catch(function () {});
    }, 400);
    textarea.addEventListener("input", run);
  }

  // Canned responses: fill the reply box with the chosen one, rendered for this ticket.
  function canned(select) {
    select.addEventListener("change", function () {
      if (!select.value) return;
      fetch("/api/canned-responses/" + encodeURIComponent(select.value) + "/render", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ticket_id: Number(select.getAttribute("data-ticket")) })
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (!data) return;
        var box = document.getElementById("reply-body");
        box.value = data.text;
        box.dispatchEvent(new Event("input"));
        box.focus();
      }).catch(function () {});
    });
  }

  // Quick capture: find the customer by phone, email or handle as you type.
  function lookup(input) {
    var results = document.getElementById("customer-results");
    var hidden = document.getElementById("customer_id");
    var run = debounce(function () {
      var q = input.value.trim();
      hidden.value = "";
      results.textContent = "";
      if (q.length < 2) return;
      fetch("/api/customers?limit=5&q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { customers: [] }; })
        .then(function (data) {
          results.textContent = "";
          (data.customers || []).forEach(function (c) {
            var li = document.createElement("li");
            var b = document.createElement("button");
            b.type = "button";
            b.className = "pick-customer";
            b.textContent = c.name + " \u00B7 " + (c.whatsapp || c.phone || c.email || ("@" + c.instagram) || "");
            b.addEventListener("click", function () {
              hidden.value = c.id;
              input.value = c.name;
              results.textContent = "";
              var note = document.createElement("li");
              note.textContent = (input.getAttribute("data-chosen") || "") + " " + c.name;
              results.appendChild(note);
              document.getElementById("new-customer").hidden = true;
            });
            li.appendChild(b);
            results.appendChild(li);
          });
        }).catch(function () {});
    }, 250);
    input.addEventListener("input", run);
  }

  // Target countdowns in the queue: "in 3 hours" / "dalam 3 jam", from the browser's own words.
  function countdowns() {
    var locale = document.body.getAttribute("data-locale") || "id";
    if (!window.Intl || !Intl.RelativeTimeFormat) return;
    var format = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
    Array.prototype.forEach.call(document.querySelectorAll(".countdown[data-due]"), function (el) {
      var minutes = Math.round((Date.parse(el.getAttribute("data-due")) - Date.now()) / 60000);
      if (isNaN(minutes)) return;
      var value = Math.abs(minutes) >= 1440 ? [Math.round(minutes / 1440), "day"]
        : Math.abs(minutes) >= 60 ? [Math.round(minutes / 60), "hour"] : [minutes, "minute"];
      var span = document.createElement("small");
      span.className = minutes < 0 ? "late" : "";
      span.textContent = " (" + format.format(value[0], value[1]) + ")";
      el.appendChild(span);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    countdowns();
    Array.prototype.forEach.call(document.querySelectorAll("textarea.calm-check"), calmCheck);
    var select = document.getElementById("canned");
    if (select) canned(select);
    var input = document.getElementById("customer-lookup");
    if (input) lookup(input);
  });
})();
