"use strict";
(function () {
  const log = document.getElementById("log");
  const form = document.getElementById("form");
  const input = document.getElementById("text");
  const botSelect = document.getElementById("bot");
  const showCandidates = document.getElementById("show-candidates");
  const session = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random())).replace(/-/g, "");
  const headers = { "Content-Type": "application/json" };
  // A server started with BOTFRAMEWORK_WEB_CHAT_TOKEN is opened as /#token=...: the fragment never
  // reaches the server or its logs; it is kept for this tab only and taken out of the address bar.
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromFragment) {
    sessionStorage.setItem("token", fromFragment);
    history.replaceState(null, "", location.pathname + location.search);
  }
  const token = sessionStorage.getItem("token");
  if (token) headers.Authorization = "Bearer " + token;

  async function call(path, options) {
    const response = await fetch(path, { ...options, headers });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  function add(kind, text) {
    const row = document.createElement("div");
    row.className = "turn " + kind;
    const bubble = document.createElement("span");
    bubble.textContent = text;
    row.appendChild(bubble);
    log.appendChild(row);
    log.scrollTop = log.scrollHeight;
    return row;
  }

  function addCandidates(candidates) {
    const table = document.createElement("table");
    table.className = "candidates";
    for (const candidate of candidates) {
      const tr = table.insertRow();
      tr.insertCell().textContent = candidate.score.toFixed(3);
      tr.insertCell().textContent = candidate.text;
    }
    log.appendChild(table);
    log.scrollTop = log.scrollHeight;
  }

  call("/api/bots").then((bots) => {
    for (const bot of bots) {
      const option = document.createElement("option");
      option.value = option.textContent = bot.name;
      botSelect.appendChild(option);
    }
    if (bots.length) add("bot", bots[0].greeting);
  }).catch((error) => add("bot error", "Error: " + error.message));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    add("user", text);
    try {
      const data = await call("/api/chat", {
        method: "POST",
        body: JSON.stringify({ text, session, bot: botSelect.value, candidates: showCandidates.checked }),
      });
      add("bot", data.reply === null ? "(no reply)" : data.reply);
      if (data.candidates) addCandidates(data.candidates);
    } catch (error) {
      add("bot error", "Error: " + error.message);
    }
  });
})();
