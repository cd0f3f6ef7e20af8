// Gatehouse console: live refresh and the two actions. The pages are
// rendered on the server; this script only
//  - listens to the workspace's live stream (Server-Sent Events read with
//    fetch, so that it can carry the bearer token) and, after each commit,
//    reads the page again and swaps its <main> in place;
//  - sends approve and redeploy as JSON, with the token;
//  - when the server requires a token, asks for it once, keeps it in this
//    tab's session storage, and loads pages with it.
"use strict";
(() => {
  const TOKEN = "gatehouse.token";
  const USER = "gatehouse.user";
  const body = document.body;
  const tokenRequired = body.dataset.tokenRequired === "true";
  const $ = (id) => document.getElementById(id);
  const openCells = new Set();

  const token = () => sessionStorage.getItem(TOKEN) || "";
  function headers(extra) {
    const h = Object.assign({}, extra);
    if (token()) h.Authorization = "Bearer " + token();
    return h;
  }

  // --- pages ---------------------------------------------------------

  // load reads url and swaps the page's parts in; push adds a history
  // entry (a navigation) instead of replacing the current one.
  async function load(url, push) {
    const resp = await fetch(url, { headers: headers({ Accept: "text/html" }) });
    if (resp.status === 401 && tokenRequired) {
      askToken(token() ? "The server refused this token." : "");
      return;
    }
    const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
    swap(doc);
    if (push) history.pushState(null, "", resp.url);
    else if (resp.url !== location.href) history.replaceState(null, "", resp.url);
  }

  function swap(doc) {
    document.title = doc.title;
    for (const id of ["nav", "main", "footer"]) {
      const next = doc.getElementById(id);
      if (next) $(id).replaceWith(next);
    }
    const ws = doc.body.dataset.workspace || "";
    delete body.dataset.locked;
    if (ws !== body.dataset.workspace) {
      body.dataset.workspace = ws;
      listen();
    }
    restore();
  }

  function toggleCell(cell) {
    cell.classList.toggle("open");
    if (cell.classList.contains("open")) openCells.add(cell.id); else openCells.delete(cell.id);
  }

  // restore reopens what a person had open before a refresh.
  function restore() {
    for (const id of openCells) {
      const cell = $(id);
      if (cell) cell.classList.add("open");
    }
  }

  // A refresh is in flight at most once; commits meanwhile cause one more.
  let busy = false, again = false;
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const open = [...document.querySelectorAll("details[open][id]")].map((d) => d.id);
      await load(location.href, false);
      for (const id of open) { const d = $(id); if (d) d.open = true; }
    } catch (e) {
      // The server is gone for a moment; the stream reconnects and refreshes.
    } finally {
      busy = false;
    }
    if (again) { again = false; refresh(); }
  }

  // --- the live stream -------------------------------------------------

  let stream = null;
  function setLive(on) {
    const live = $("live");
    live.classList.toggle("on", on);
    live.title = on ? "Live: the page updates when the workspace changes" : "Live updates are off";
  }

  function listen() {
    if (stream) stream.abort();
    stream = null;
    setLive(false);
    const ws = body.dataset.workspace;
    if (!ws || body.dataset.locked) return;
    const ctl = new AbortController();
    stream = ctl;
    (async () => {
      let first = true;
      while (!ctl.signal.aborted) {
        try {
          const resp = await fetch("/console/workspaces/" + encodeURIComponent(ws) + "/events",
            { headers: headers({ Accept: "text/event-stream" }), signal: ctl.signal });
          if (resp.status === 401) { setLive(false); return; }
          if (!resp.ok || !resp.body) throw new Error("stream: " + resp.status);
          setLive(true);
          // Commits missed while reconnecting: read the page once.
          if (!first) refresh();
          first = false;
          const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
          let buf = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += value;
            let end;
            while ((end = buf.indexOf("\n\n")) >= 0) {
              const block = buf.slice(0, end);
              buf = buf.slice(end + 2);
              if (/^event: commit$/m.test(block)) refresh();
            }
          }
        } catch (e) {
          if (ctl.signal.aborted) return;
        }
        setLive(false);
        await new Promise((r) => setTimeout(r, 2000));
      }
    })();
  }

  // --- actions -----------------------------------------------------------

  function flash(text, isError) {
    const f = $("flash");
    f.textContent = text;
    f.classList.toggle("error", !!isError);
    f.hidden = false;
    clearTimeout(flash.timer);
    flash.timer = setTimeout(() => { f.hidden = true; }, 6000);
  }

  async function post(url, data) {
    const resp = await fetch(url, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "application/json" }),
      body: JSON.stringify(data || {}),
    });
    let answer = {};
    try { answer = await resp.json(); } catch (e) { answer = { error: resp.statusText }; }
    if (resp.status === 401) askToken("The server refused the token.");
    if (!resp.ok) throw new Error(answer.error || resp.statusText);
    return answer.message || "done";
  }

  // The action dialog holds what the clicked button asked for.
  let pending = null;
  function openAction(button) {
    const d = button.dataset;
    const ws = body.dataset.workspace;
    $("action-error").hidden = true;
    $("action-reason").value = "";
    if (d.action === "approve") {
      $("action-title").textContent = "Approve " + d.versionTag + " for " + d.environmentName;
      $("action-text").textContent = "Records your approval; the approval rules count it at once.";
      $("action-user-row").hidden = false;
      $("action-reason-row").hidden = false;
      $("action-user").value = localStorage.getItem(USER) || "";
      $("action-user").required = true;
      $("action-confirm").textContent = "Approve";
      pending = () => {
        const user = $("action-user").value.trim();
        localStorage.setItem(USER, user);
        return post("/console/workspaces/" + encodeURIComponent(ws) + "/approve", {
          versionId: d.versionId, environmentId: d.environmentId, userId: user, reason: $("action-reason").value,
        });
      };
    } else {
      $("action-title").textContent = "Redeploy " + d.name;
      $("action-text").textContent = "Creates a new job for the desired release (else the current one), without the policy checks.";
      $("action-user-row").hidden = true;
      $("action-reason-row").hidden = true;
      $("action-user").required = false;
      $("action-confirm").textContent = "Redeploy";
      pending = () => post(d.url, {});
    }
    $("action-dialog").showModal();
  }

  async function confirmAction(ev) {
    ev.preventDefault();
    if (!pending) return;
    const confirm = $("action-confirm");
    confirm.disabled = true;
    try {
      const message = await pending();
      $("action-dialog").close();
      flash(message);
      refresh();
    } catch (e) {
      $("action-error").textContent = e.message;
      $("action-error").hidden = false;
    } finally {
      confirm.disabled = false;
    }
  }

  // --- the token ---------------------------------------------------------

  function askToken(message) {
    $("token-error").textContent = message || "";
    $("token-error").hidden = !message;
    const d = $("token-dialog");
    if (!d.open) d.showModal();
  }

  async function saveToken(ev) {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN, $("token-input").value.trim());
    $("token-dialog").close();
    await load(location.href, false);
    listen();
  }

  // --- wiring --------------------------------------------------------------

  document.addEventListener("click", (ev) => {
    const button = ev.target.closest("button[data-action]");
    if (button) {
      if (button.dataset.action === "token") askToken("");
      else openAction(button);
      return;
    }
    const cell = ev.target.closest("td.cell");
    if (cell && !ev.target.closest("a")) {
      toggleCell(cell);
      return;
    }
    // With a token, pages are read by this script, which can send it.
    const a = ev.target.closest("a[href^='/']");
    if (a && token() && !a.target && !ev.ctrlKey && !ev.metaKey && !ev.shiftKey) {
      ev.preventDefault();
      load(a.getAttribute("href"), true);
    }
  });
  // A cell opens from the keyboard too.
  document.addEventListener("keydown", (ev) => {
    const cell = ev.target.closest && ev.target.closest("td.cell");
    if (cell && ev.target === cell && (ev.key === "Enter" || ev.key === " ")) {
      ev.preventDefault();
      toggleCell(cell);
    }
  });
  document.addEventListener("change", (ev) => {
    const form = ev.target.closest("form[data-filters]");
    if (form) form.requestSubmit();
  });
  // Filters are read in place: the list changes, the page stays.
  document.addEventListener("submit", (ev) => {
    const form = ev.target.closest("form[data-filters]");
    if (!form) return;
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
    const s = q.toString();
    load(form.getAttribute("action") + (s ? "?" + s : ""), true);
  });
  window.addEventListener("popstate", () => load(location.href, false));
  $("action-form").addEventListener("submit", confirmAction);
  $("action-cancel").addEventListener("click", () => $("action-dialog").close());
  $("token-form").addEventListener("submit", saveToken);

  if (body.dataset.locked) {
    if (token()) load(location.href, false).then(listen);
    else askToken("");
  } else {
    listen();
  }
})();
