"""Headless Chromium driven over the Chrome DevTools Protocol with aiohttp's websocket
client (no Selenium, no driver binary): start it, open a page, evaluate JavaScript, click,
wait for a condition, take a screenshot.

Calls are synchronous for the tests: each runs the browser's own event loop until its
answer arrives (events that come meanwhile are kept for `wait`)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


class BrowserError(Exception):
    pass


class Browser:
    """One headless Chromium with one page."""

    def __init__(self, executable: str, width: int = 1280, height: int = 900):
        self.profile = tempfile.mkdtemp(prefix="sesh-chromium-")
        self.process = subprocess.Popen(
            [
                executable,
                "--headless=new",
                "--no-sandbox",  # tests run as root in containers
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        self.loop = asyncio.new_event_loop()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self.console: list[str] = []
        try:
            port = self._devtools_port()
            self.loop.run_until_complete(self._connect(port))
            self.call("Page.enable")
            self.call("Runtime.enable")
        except BaseException:
            self.close()
            raise

    def _devtools_port(self, timeout: float = 30.0) -> int:
        assert self.process.stderr is not None
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            line = self.process.stderr.readline().decode(errors="replace")
            if not line and self.process.poll() is not None:
                break
            seen.append(line)
            match = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if match:
                return int(match.group(1))
        raise BrowserError("chromium did not start: " + "".join(seen[-10:]))

    async def _connect(self, port: int) -> None:
        self.session = aiohttp.ClientSession()
        async with self.session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        page = next(t for t in targets if t["type"] == "page")
        self.ws = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self.reader = self.loop.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            future = self._pending.pop(data.get("id", -1), None)
            if future is not None:
                if "error" in data:
                    future.set_exception(BrowserError(str(data["error"])))
                else:
                    future.set_result(data.get("result", {}))
            elif data.get("method") == "Runtime.consoleAPICalled":
                args = data["params"]["args"]
                self.console.append(
                    " ".join(str(a.get("value", a.get("description"))) for a in args)
                )
            elif data.get("method") == "Runtime.exceptionThrown":
                self.console.append(str(data["params"]["exceptionDetails"]))

    def call(self, method: str, timeout: float = 30.0, **params: Any) -> dict:
        async def send() -> dict:
            ident = next(self._ids)
            future = self.loop.create_future()
            self._pending[ident] = future
            await self.ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
            return await asyncio.wait_for(future, timeout)

        return self.loop.run_until_complete(send())

    # ----- what the tests use

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, timeout: float = 30.0) -> None:
        """Navigate, then wait until the page has rendered (`body[data-ready]`)."""
        # Through a blank page: navigating to the same URL, or to another #fragment of it,
        # would not load the page again.
        self.call("Page.navigate", url="about:blank")
        self.wait("location.href === 'about:blank' && document.readyState === 'complete'")
        self.call("Page.navigate", url=url)
        self.wait("document.body && document.body.dataset.ready !== undefined", timeout)

    def wait(self, condition: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(condition)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out after {timeout}s waiting for {condition}")
            self.loop.run_until_complete(asyncio.sleep(0.1))

    def text(self, selector: str) -> str:
        element = f"document.querySelector({json.dumps(selector)})"
        # SVG elements have no innerText.
        return self.evaluate(f"{element}.innerText ?? {element}.textContent").strip()

    def click(self, selector: str) -> None:
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    def fill(self, selector: str, value: str) -> None:
        self.evaluate(f"document.querySelector({json.dumps(selector)}).value = {json.dumps(value)}")

    def add_script(self, source: str) -> str:
        """Run `source` in every document before the page's own scripts."""
        return self.call("Page.addScriptToEvaluateOnNewDocument", source=source)["identifier"]

    def remove_script(self, identifier: str) -> None:
        self.call("Page.removeScriptToEvaluateOnNewDocument", identifier=identifier)

    def screenshot(self, path: Path) -> Path:
        """The whole page as a PNG."""
        metrics = self.call("Page.getLayoutMetrics")
        size = metrics["cssContentSize"]
        shot = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        async def shut() -> None:
            if getattr(self, "ws", None) is not None:
                await self.ws.close()
            if getattr(self, "session", None) is not None:
                await self.session.close()

        try:
            self.loop.run_until_complete(shut())
        finally:
            self.loop.close()
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)


# An EIP-1193 provider for tests (test_wallet.js): reads go to the devnet's anvil, and so do
# signatures and transactions, from one of anvil's unlocked test accounts
# (eth_signTypedData_v4 and eth_sendTransaction are anvil's own).
WALLET_SCRIPT = (Path(__file__).parent / "test_wallet.js").read_text()


def wallet_script(rpc_url: str, account: str) -> str:
    return WALLET_SCRIPT.replace("__RPC__", json.dumps(rpc_url)).replace(
        "__ACCOUNT__", json.dumps(account)
    )
