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

  // A reply's structured parts, as Messenger shows them: media, buttons, cards, then quick replies
  // (which disappear once one is tapped). Tapping sends the title as text and the payload.
  function addParts(data) {
    const parts = document.createElement("div");
    parts.className = "parts";
    if (data.media) parts.appendChild(mediaOf(data.media));
    if (data.buttons && data.buttons.length) parts.appendChild(buttonRow(data.buttons));
    for (const element of data.elements || []) {
      const card = document.createElement("div");
      card.className = "card";
      card.appendChild(document.createElement("strong")).textContent = element.title;
      if (element.subtitle) card.appendChild(document.createElement("div")).textContent = element.subtitle;
      if (element.buttons && element.buttons.length) card.appendChild(buttonRow(element.buttons));
      parts.appendChild(card);
    }
    if (data.quick_replies && data.quick_replies.length) {
      const row = document.createElement("div");
      row.className = "quick-replies";
      for (const quick of data.quick_replies) {
        const button = row.appendChild(document.createElement("button"));
        button.type = "button";
        button.className = "quick-reply";
        button.textContent = quick.title;
        button.addEventListener("click", () => { row.remove(); send(quick.title, quick.payload); });
      }
      parts.appendChild(row);
    }
    if (parts.childNodes.length) log.appendChild(parts);
    log.scrollTop = log.scrollHeight;
  }

  function buttonRow(buttons) {
    const row = document.createElement("div");
    row.className = "buttons";
    for (const item of buttons) {
      if (item.type === "web_url") {
        const link = row.appendChild(document.createElement("a"));
        link.className = "button";
        link.href = item.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        link.textContent = item.title;
      } else {
        const button = row.appendChild(document.createElement("button"));
        button.type = "button";
        button.className = "postback";
        button.textContent = item.title;
        button.addEventListener("click", () => send(item.title, item.payload));
      }
    }
    return row;
  }

  function mediaOf(media) {
    if (media.type === "image") {
      const image = document.createElement("img");
      image.src = media.url;
      image.alt = "image";
      image.className = "media";
      return image;
    }
    const link = document.createElement("a");
    link.href = media.url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.textContent = media.type + ": " + media.url;
    return link;
  }

  async function send(text, payload) {
    add("user", text);
    try {
      const data = await call("/api/chat", {
        method: "POST",
        body: JSON.stringify({ text, payload, session, bot: botSelect.value, candidates: showCandidates.checked }),
      });
      add("bot", data.reply === null ? "(no reply)" : data.reply);
      addParts(data);
      if (data.candidates) addCandidates(data.candidates);
    } catch (error) {
      add("bot error", "Error: " + error.message);
    }
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
    await send(text);
  });
})();
