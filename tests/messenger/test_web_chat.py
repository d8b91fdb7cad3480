"""The local web chat: the JSON API, and the page itself in headless Chromium."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from botframework_plugins.pipeline import canned

from .conftest import echo_bot

CANNED = [
    {
        "match": ["when are you open"],
        "text": "We are open 9 to 5.",
        "quick_replies": [{"title": "Address", "payload": "MENU_ADDRESS"}],
    },
    {
        "payload": "MENU_ADDRESS",
        "text": "1 Main St.",
        "buttons": [{"type": "web_url", "title": "Map", "url": "https://example.com/map"}],
    },
]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


async def test_chat_api_answers_with_candidates_and_keeps_context(make_server) -> None:
    client = await make_server()
    page = await client.get("/")
    assert page.status == 200 and "Web chat" in await page.text()
    assert page.content_type == "text/html"
    script = await client.get("/chat.js")
    assert script.status == 200 and script.content_type == "application/javascript"
    assert "/api/chat" in await script.text()
    first = await (await client.post("/api/chat", json={"text": "hello", "session": "s1"})).json()
    assert first["reply"] == "echo: hello" and "candidates" not in first
    second = await (
        await client.post("/api/chat", json={"text": "again", "session": "s1", "candidates": True})
    ).json()
    assert [c["text"] for c in second["candidates"]] == ["echo: again", "second best"]
    assert second["candidates"][0]["score"] == -1.0
    assert (await client.post("/api/chat", json={"text": ""})).status == 400
    json_type = {"Content-Type": "application/json"}
    assert (await client.post("/api/chat", data=b"nope", headers=json_type)).status == 400
    assert (await client.post("/api/chat", json={"text": "x", "bot": "nobody"})).status == 404


async def test_chat_api_sends_a_payload_and_answers_with_structured_parts(make_server) -> None:
    client = await make_server([echo_bot(plugins=(canned,), canned=CANNED)])
    asked = {"text": "Address", "payload": "MENU_ADDRESS", "session": "s1"}
    answer = await (await client.post("/api/chat", json=asked)).json()
    assert answer["reply"] == "1 Main St." and answer["answered_by"] == "canned"
    assert answer["buttons"] == [
        {"title": "Map", "type": "web_url", "payload": None, "url": "https://example.com/map"}
    ]
    opening = await (await client.post("/api/chat", json={"text": "When are you open?"})).json()
    assert opening["quick_replies"] == [{"title": "Address", "payload": "MENU_ADDRESS"}]
    too_long = {"text": "x", "payload": "p" * 1001}
    assert (await client.post("/api/chat", json=too_long)).status == 400


async def test_web_chat_can_be_turned_off(make_server) -> None:
    client = await make_server(web_chat=False)
    assert (await client.get("/")).status == 404


def _browse(url: str) -> tuple[str, list[str]]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(20)
        driver.get(url)
        wait = WebDriverWait(driver, 15)
        wait.until(ec.text_to_be_present_in_element((By.ID, "log"), "Hi! Say something"))
        box = driver.find_element(By.ID, "text")
        box.send_keys("hello browser")
        driver.find_element(By.ID, "send").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "log"), "echo: hello browser"))
        driver.find_element(By.ID, "show-candidates").click()
        box.send_keys("more please")
        driver.find_element(By.ID, "send").click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "table.candidates")))
        rows = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "table.candidates tr")]
        box.send_keys("When are you open?")
        driver.find_element(By.ID, "send").click()
        tap = (By.CSS_SELECTOR, "button.quick-reply")
        wait.until(ec.element_to_be_clickable(tap)).click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "log"), "1 Main St."))
        link = driver.find_element(By.CSS_SELECTOR, "a.button")
        rows.append(f"{link.text} -> {link.get_attribute('href')}")
        rows.append(str(len(driver.find_elements(*tap))))  # tapped quick replies disappear
        return driver.find_element(By.ID, "log").text, rows
    finally:
        driver.quit()


@pytest.mark.skipif(
    not CHROMIUM or not CHROMEDRIVER, reason="needs Debian's chromium and chromium-driver"
)
@pytest.mark.parametrize("token", [None, "web-chat-token-7"])
async def test_web_chat_in_headless_chromium(make_server, token) -> None:
    """The page's own requests pass the same-origin check, and carry the token from /#token=."""
    pytest.importorskip("selenium", reason="needs selenium (pip install selenium)")
    bot = echo_bot(plugins=(canned,), canned=CANNED)
    client = await make_server([bot], env={"BOTFRAMEWORK_WEB_CHAT_TOKEN": token})
    url = str(client.make_url("/")) + (f"#token={token}" if token else "")
    log, rows = await asyncio.to_thread(_browse, url)
    assert "hello browser" in log and "echo: hello browser" in log
    assert rows[:2] == ["-1.000 echo: more please", "-2.500 second best"]
    assert "We are open 9 to 5." in log and "\nAddress\n" in log  # the tap, sent as the user's turn
    assert rows[-2:] == ["Map -> https://example.com/map", "0"]
