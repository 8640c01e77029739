// Kleer for HubSpot settings page: the mapping dialog, its direction control and the "Create new property" suggestions.
// Everything here is an enhancement: without JavaScript the same links open full pages that work alone.
(() => {
  "use strict";

  // "Create new property": placeholders follow the chosen Kleer field (blank inputs take the suggestion).
  function wireSuggestions(root) {
    const select = root.querySelector("select[name=kleer_field]");
    if (!select) return;
    const update = () => {
      const option = select.selectedOptions[0];
      for (const input of root.querySelectorAll("input[data-suggest]")) {
        const key = input.dataset.suggest === "name" ? "suggestName" : "suggestLabel";
        input.placeholder = (option && option.dataset[key]) || "";
      }
    };
    select.addEventListener("change", update);
    update();
  }

  // Direction control (two-way object types): whether a mapping can be two-way depends on the Kleer field and
  // the HubSpot property, so the server renders the control again for the values chosen now and it is swapped in.
  function wireDirection(root) {
    const form = root.querySelector("form.mapping-form");
    if (!form || !form.querySelector("#direction")) return;
    let latest = 0;
    form.addEventListener("change", async (event) => {
      if (!["kleer_field", "hubspot_property"].includes(event.target.name)) return;
      const current = form.querySelector("#direction");
      if (!current) return;
      const url = new URL(current.dataset.directionUrl, window.location.href);
      url.searchParams.set("kleer_field", form.elements.kleer_field.value);
      url.searchParams.set("hubspot_property", form.elements.hubspot_property.value);
      const checked = current.disabled ? null : current.querySelector("input[name=direction]:checked");
      if (checked) url.searchParams.set("direction", checked.value);
      const request = ++latest;
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { "X-Dialog": "1" } });
        if (!response.ok || request !== latest) return;
        const html = await response.text();
        const still = form.querySelector("#direction");
        if (still && request === latest) still.outerHTML = html;
      } catch (error) {
        // Offline or the session ended: the saved form is still checked by the server.
      }
    });
  }

  // Default value: its input follows the chosen HubSpot property (a dropdown of an option property's options,
  // yes/no, a date picker), so the server renders it again for the property chosen now, keeping what was typed.
  function wireDefault(root) {
    const form = root.querySelector("form.mapping-form");
    if (!form || !form.querySelector("#default-value")) return;
    let latest = 0;
    form.addEventListener("change", async (event) => {
      if (event.target.name !== "hubspot_property") return;
      const current = form.querySelector("#default-value");
      if (!current) return;
      const url = new URL(current.dataset.defaultUrl, window.location.href);
      url.searchParams.set("hubspot_property", form.elements.hubspot_property.value);
      url.searchParams.set("default_value", form.elements.default_value.value);
      const request = ++latest;
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { "X-Dialog": "1" } });
        if (!response.ok || request !== latest) return;
        const html = await response.text();
        const still = form.querySelector("#default-value");
        if (still && request === latest) still.outerHTML = html;
      } catch (error) {
        // Offline or the session ended: the text box still works and the server checks the value on save.
      }
    });
  }

  wireSuggestions(document);
  wireDirection(document);
  wireDefault(document);

  const dialog = document.getElementById("settings-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return;
  const body = dialog.querySelector("[data-dialog-body]");
  let opener = null;

  // Where focus goes when the dialog (re)opens: the first invalid field, the refused new-property name, the
  // freshly selected property after "Create property" / "Refresh", else the first control.
  function focusTarget() {
    const controls = "select, input:not([type=hidden]):not([tabindex='-1']), textarea";
    return body.querySelector("[aria-invalid=true]")
      || (body.querySelector(".new-property [role=alert]") && body.querySelector("[name=new_property_name]"))
      || (body.querySelector("[role=status]") && body.querySelector("[name=hubspot_property]"))
      || body.querySelector(controls);
  }

  function show(html) {
    body.innerHTML = html;
    wireSuggestions(body);
    wireDirection(body);
    wireDefault(body);
    if (!dialog.open) dialog.showModal();
    const target = focusTarget();
    if (target) target.focus();
  }

  // Show the saved state: a new page, or this one reloaded (assign() alone only scrolls when just #hash differs).
  function go(location) {
    const target = new URL(location || window.location.href, window.location.href);
    const here = window.location;
    if (target.pathname === here.pathname && target.search === here.search) {
      if (target.hash) history.replaceState(null, "", target.hash);
      here.reload();
    } else {
      here.assign(target.href);
    }
  }

  // The server answers a dialog request with the form alone, or 204 + X-Location once the change is saved.
  async function load(url, options = {}) {
    try {
      const response = await fetch(url, { ...options, credentials: "same-origin", headers: { "X-Dialog": "1" } });
      if (response.status === 204) {
        go(response.headers.get("X-Location"));
      } else if (response.ok && !response.redirected) {
        show(await response.text());
      } else {
        window.location.assign(url);
      }
    } catch (error) {
      window.location.assign(url);
    }
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-dialog]");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    opener = link;
    load(link.href);
  });

  dialog.addEventListener("click", (event) => {
    if (event.target.closest("[data-dialog-close]")) {
      event.preventDefault();
      dialog.close();
    }
  });

  dialog.addEventListener("submit", (event) => {
    const form = event.target;
    event.preventDefault();
    // Not form.action: the buttons are named "action", and form.action would return them instead.
    const url = new URL(form.getAttribute("action") || window.location.href, window.location.href);
    load(url.href, { method: "POST", body: new FormData(form, event.submitter) });
  });

  dialog.addEventListener("close", () => {
    body.innerHTML = "";
    if (opener) opener.focus();
  });
})();

// Sync status: while a run is queued or running, ask the server every few seconds (a small JSON answer) and show
// its state and the records read so far; when it has finished, reload once so the counts and errors are fresh.
(() => {
  "use strict";
  const cell = document.getElementById("run-state");
  if (!cell || !["queued", "running"].includes(cell.dataset.state)) return;
  const url = cell.dataset.statusUrl;
  let polls = 0;
  const poll = async () => {
    polls += 1;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) {
        const status = await response.json();
        if (!["queued", "running"].includes(status.state)) {
          window.location.reload();
          return;
        }
        cell.dataset.state = status.state;
        cell.innerHTML = status.text;
      }
    } catch (error) {
      // Offline or the session ended: try again at the next tick.
    }
    // Every 2 s for the first minute, then every 10 s: a long run does not hammer the server.
    window.setTimeout(poll, polls < 30 ? 2000 : 10000);
  };
  window.setTimeout(poll, 2000);
})();
