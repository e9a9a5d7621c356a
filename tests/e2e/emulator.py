"""Python harness for the local Telegram Bot API emulator (tests/e2e/emulator/server.js).

The emulator is a small Node process speaking the Bot API on 127.0.0.1. A PTB
``Application`` is pointed at it with::

    ApplicationBuilder().token(emu.token)
        .base_url(f"{emu.url}/bot").base_file_url(f"{emu.url}/file/bot")

and the test plays the human side through the ``/_test/`` control endpoints
(``user_sends``, ``user_presses``, ...), then inspects what the bot did
(``messages``, ``bot_messages``, ``calls``).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable

import httpx

SERVER_DIR = Path(__file__).parent / "emulator"
SERVER_JS = SERVER_DIR / "server.js"
READY_PREFIX = "EMULATOR READY "
DEFAULT_TOKEN = "123456:TEST-token"
BOT_USERNAME = "puente_test_bot"


def _refuse_inside_event_loop(name: str, async_name: str) -> None:
    """A blocking wait inside a running event loop would freeze the PTB Application under test."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"emulator.{name}() blocks; inside a running event loop (async test) "
        f"use `await emulator.{async_name}(...)` so the bot can keep working"
    )


class EmulatorError(RuntimeError):
    """The emulator could not be started or a /_test/ call failed."""


class BotApiEmulator:
    """Start/stop the Node emulator and drive it synchronously (httpx)."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, node: str | None = None) -> None:
        self.token = token
        self.node = node or shutil.which("node") or "node"
        self.url: str = ""
        self._proc: subprocess.Popen[str] | None = None
        self._client: httpx.Client | None = None
        self._stderr_lines: list[str] = []
        self._stderr_thread: threading.Thread | None = None
        self.last_delivered: bool | None = None

    # ------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 15.0) -> "BotApiEmulator":
        if self._proc is not None:
            return self
        proc = subprocess.Popen(
            [self.node, str(SERVER_JS), "--port", "0"],
            cwd=str(SERVER_DIR),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        self._proc = proc
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()

        ready: list[str] = []
        done = threading.Event()

        def read_ready() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith(READY_PREFIX):
                    ready.append(line[len(READY_PREFIX):].strip())
                    done.set()
                    break
            done.set()
            # keep draining stdout so the child never blocks on a full pipe
            for _ in proc.stdout:
                pass

        threading.Thread(target=read_ready, daemon=True).start()
        if not done.wait(timeout) or not ready:
            self.stop()
            if self._stderr_thread is not None:
                self._stderr_thread.join(timeout=2)
            stderr = "".join(self._stderr_lines).strip()
            raise EmulatorError(
                f"Bot API emulator did not become ready (waited up to {timeout}s, "
                f"exit code {proc.returncode}). stderr:\n{stderr or '<empty>'}"
            )
        self.url = ready[0]
        self._client = httpx.Client(base_url=self.url, timeout=10.0)
        return self

    def _drain_stderr(self) -> None:
        proc = self._proc
        if proc is None or proc.stderr is None:
            return
        for line in proc.stderr:
            self._stderr_lines.append(line)

    @property
    def stderr(self) -> str:
        """Everything the emulator wrote to stderr (crashes in handlers are logged there)."""
        return "".join(self._stderr_lines)

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass

    def __enter__(self) -> "BotApiEmulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ plumbing
    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder().base_url(...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.url}/file/bot"

    def _http(self) -> httpx.Client:
        if self._client is None:
            raise EmulatorError("emulator is not started")
        return self._client

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        resp = self._http().request(method, path, **kwargs)
        try:
            body = resp.json()
        except ValueError:
            raise EmulatorError(f"{method} {path} -> {resp.status_code}: {resp.text!r}") from None
        if resp.status_code != 200 or not body.get("ok"):
            raise EmulatorError(f"{method} {path} -> {resp.status_code}: {body.get('error', body)}")
        return body

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        payload = {"token": self.token, **payload}
        return self._request("POST", path, json=payload)

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        params = {"token": self.token, **{k: v for k, v in params.items() if v is not None}}
        return self._request("GET", path, params=params)

    # ------------------------------------------------------------ the human side
    def user_sends(
        self,
        chat_id: int,
        text: str | None = None,
        *,
        user_id: int | None = None,
        first_name: str = "Ana",
        username: str | None = None,
        language_code: str | None = None,
        chat_type: str = "private",
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        deliver: bool | None = None,
        **message_fields: Any,
    ) -> dict[str, Any]:
        """A user writes in ``chat_id``; returns the Message dict (as the bot will see it).

        ``message_fields`` are merged into the message (``photo=[...]``, ``voice={...}``,
        ``caption=...``, ``location={...}``) for non-text messages. In groups the bot has
        privacy mode on (like a fresh BotFather bot): only /commands, @puente_test_bot
        mentions and replies to the bot are delivered; ``deliver=True/False`` overrides.
        """
        if user_id is None:
            user_id = chat_id if chat_type == "private" else 1000
        user: dict[str, Any] = {"id": user_id, "first_name": first_name}
        if username is not None:
            user["username"] = username
        if language_code is not None:
            user["language_code"] = language_code
        payload: dict[str, Any] = {"chat_id": chat_id, "user": user, "chat_type": chat_type}
        if text is not None:
            payload["text"] = text
        if chat_title is not None:
            payload["chat_title"] = chat_title
        if reply_to_message_id is not None:
            payload["reply_to_message_id"] = reply_to_message_id
        if entities is not None:
            payload["entities"] = entities
        if deliver is not None:
            payload["deliver"] = deliver
        if message_fields:
            payload["message_fields"] = message_fields
        body = self._post("/_test/users/send", payload)
        self.last_delivered = bool(body.get("delivered"))
        return body["result"]

    def user_presses(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        first_name: str = "Ana",
        username: str | None = None,
        language_code: str | None = None,
        forged: bool = False,
    ) -> str:
        """A user taps the inline button with ``callback_data == data``; returns the query id.
        ``forged``: send ``data`` whatever the message's buttons are (a modified client)."""
        payload: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "data": data}
        if forged:
            payload["forged"] = True
        if user_id is not None:
            user: dict[str, Any] = {"id": user_id, "first_name": first_name}
            if username is not None:
                user["username"] = username
            if language_code is not None:
                user["language_code"] = language_code
            payload["user"] = user
        return self._post("/_test/users/press", payload)["result"]

    def create_chat(
        self, chat_id: int, *, chat_type: str = "private", title: str | None = None,
        first_name: str | None = None, username: str | None = None,
    ) -> dict[str, Any]:
        """Make a chat known without a user message (e.g. a mentors' group the bot writes to)."""
        payload: dict[str, Any] = {"chat_id": chat_id, "chat_type": chat_type}
        for key, value in (("chat_title", title), ("first_name", first_name), ("username", username)):
            if value is not None:
                payload[key] = value
        return self._post("/_test/chats", payload)["result"]

    def upload_file(
        self, content: bytes, *, file_name: str | None = None, mime_type: str | None = None,
        kind: str = "documents", file_id: str | None = None,
    ) -> dict[str, Any]:
        """Store a file the bot can getFile/download; returns {file_id, file_unique_id, file_size}."""
        payload: dict[str, Any] = {
            "content_base64": base64.b64encode(content).decode("ascii"), "kind": kind,
        }
        for key, value in (("file_name", file_name), ("mime_type", mime_type), ("file_id", file_id)):
            if value is not None:
                payload[key] = value
        return self._post("/_test/files", payload)["result"]

    def set_privacy_mode(self, enabled: bool) -> None:
        self._post("/_test/config", {"privacy_mode": enabled})

    # ------------------------------------------------------------ inspection
    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        """All messages in the chat, in order, edits applied, deleted ones gone."""
        return self._get(f"/_test/chats/{chat_id}/messages")["result"]

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.messages(chat_id) if m.get("from", {}).get("is_bot")]

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Recorded Bot API calls: {method, params, time, http_method, content_type, status, ok}."""
        return self._get("/_test/calls", method=method)["result"]

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot (getUpdates offset)."""
        return self._get("/_test/updates")["result"]

    def callback_queries(self) -> list[dict[str, Any]]:
        """Every callback query created, each with ``_answer`` (None until answered)."""
        return self._get("/_test/callback_queries")["result"]

    # ------------------------------------------------------------ waiting
    def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition",
        interval: float = 0.02,
    ) -> Any:
        """Poll ``predicate`` until it returns a truthy value (returned); AssertionError on timeout."""
        _refuse_inside_event_loop("wait_for", "await_for")
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            last = predicate()
            if last:
                return last
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
            time.sleep(interval)

    def wait_for_bot_messages(self, chat_id: int, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Wait until the bot has at least ``count`` messages in ``chat_id``; returns them all."""
        _refuse_inside_event_loop("wait_for_bot_messages", "await_bot_messages")
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.bot_messages(chat_id)
            if len(msgs) >= count:
                return msgs
            if time.monotonic() >= deadline:
                seen = [(m.get("message_id"), m.get("text") or m.get("caption")) for m in msgs]
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {count} bot message(s) in chat {chat_id}; "
                    f"saw {len(msgs)}: {seen!r}"
                )
            time.sleep(0.02)

    async def await_for(
        self, predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition",
    ) -> Any:
        """Async variant of :meth:`wait_for` for tests running a PTB Application in the same loop."""
        import asyncio

        deadline = time.monotonic() + timeout
        while True:
            value = await asyncio.to_thread(predicate)
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {value!r}")
            await asyncio.sleep(0.02)

    async def await_bot_messages(self, chat_id: int, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Async variant of :meth:`wait_for_bot_messages` (does not block the event loop)."""
        import asyncio

        try:
            return await self.await_for(
                lambda: (lambda ms: ms if len(ms) >= count else None)(self.bot_messages(chat_id)),
                timeout=timeout, what=f"{count} bot message(s) in chat {chat_id}",
            )
        except AssertionError:
            msgs = await asyncio.to_thread(self.bot_messages, chat_id)
            seen = [(m.get("message_id"), m.get("text") or m.get("caption")) for m in msgs]
            raise AssertionError(
                f"timed out after {timeout}s waiting for {count} bot message(s) in chat {chat_id}; "
                f"saw {len(msgs)}: {seen!r}"
            ) from None

    # ------------------------------------------------------------ faults
    def fail(
        self, method: str, *, status: int = 500, times: int = 1, retry_after: int | None = None,
        delay_ms: int | None = None, description: str | None = None, chat_id: int | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` ("*" = any but getUpdates) fail with ``status``
        (only the calls for ``chat_id`` when it is given).

        ``status=429`` carries ``parameters.retry_after``; ``delay_ms`` delays the answer
        (``status=200`` with ``delay_ms`` = slow but successful call).
        """
        payload: dict[str, Any] = {"method": method, "status": status, "times": times}
        if retry_after is not None:
            payload["retry_after"] = retry_after
        if delay_ms is not None:
            payload["delay_ms"] = delay_ms
        if description is not None:
            payload["description"] = description
        if chat_id is not None:
            payload["chat_id"] = chat_id
        self._post("/_test/faults", payload)

    def clear_faults(self) -> None:
        self._request("DELETE", "/_test/faults")

    def reset(self) -> None:
        self._request("POST", "/_test/reset", json={})


def inline_data(message: dict) -> list[str]:
    """The callback data of a message's inline keyboard, row by row."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in rows for button in row]
