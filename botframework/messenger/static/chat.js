"use strict";
(function () {
  const log = document.getElementById("log");
  const form = document.getElementById("form");
  const input = document.getElementById("text");
  const botSelect = document.getElementById("bot");
  const showCandidates = document.getElementById("show-candidates");
  const session = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random())).replace(/-/g, "");

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

  fetch("/api/bots").then((r) => r.json()).then((bots) => {
    for (const bot of bots) {
      const option = document.createElement("option");
      option.value = option.textContent = bot.name;
      botSelect.appendChild(option);
    }
    if (bots.length) add("bot", bots[0].greeting);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    add("user", text);
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text, session, bot: botSelect.value, candidates: showCandidates.checked }),
      });
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || response.statusText);
      add("bot", data.reply === null ? "(no reply)" : data.reply);
      if (data.candidates) addCandidates(data.candidates);
    } catch (error) {
      add("bot error", "Error: " + error.message);
    }
  });
})();
