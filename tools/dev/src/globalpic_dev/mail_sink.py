"""A local SMTP server that keeps every mail instead of delivering it (aiosmtpd).

``make dev`` runs it (``globalpic-mail-sink --dir .dev/mail --port 1025``) so that signup,
password reset and invitation mails of the auth service land as ``<n>.eml`` files in the
folder; the tests use it in process to follow the links those mails carry::

    with MailSink(tmp_path / "mail") as sink:
        ...  # point GLOBALPIC_AUTH__SMTP_HOST / _PORT at sink.host / sink.port
        link = first_link(sink.wait_for(1)[0])

No TLS and no authentication: it listens on loopback and is for development only.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import re
import signal
import threading
from email.message import EmailMessage
from pathlib import Path
from types import FrameType
from typing import Any

from aiosmtpd.controller import Controller

from globalpic_dev.natsd import free_port

_LINK = re.compile(r"https?://[^\s<>\"']+")


def first_link(message: EmailMessage) -> str:
    """The first http(s) link in the message's text (``ValueError`` when there is none)."""
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else str(message.get_payload())
    found = _LINK.search(text)
    if found is None:
        raise ValueError(f"no link in the mail {message['Subject']!r}")
    return found.group(0)


def _next_number(directory: Path) -> int:
    # Numbering goes on after the mails a previous run left in the folder.
    numbers = [int(path.stem) for path in directory.glob("*.eml") if path.stem.isdigit()]
    return max(numbers, default=0) + 1


class _Handler:
    """aiosmtpd calls ``handle_DATA`` (on its event loop thread) once per received mail."""

    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.sink.keep(bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


class MailSink:
    """Received mails are in ``messages`` (oldest first) and in ``directory/<n>.eml``."""

    def __init__(
        self, directory: Path, *, host: str = "127.0.0.1", port: int | None = None
    ) -> None:
        self.directory = directory
        self.host = host
        # aiosmtpd checks its server is up by connecting to the port: it cannot take port 0.
        self.port = port or free_port(host)
        self._messages: list[EmailMessage] = []
        self._arrived = threading.Condition()
        self._controller = Controller(_Handler(self), hostname=host, port=self.port)
        self._number = 1

    @property
    def messages(self) -> list[EmailMessage]:
        with self._arrived:
            return list(self._messages)

    def keep(self, raw: bytes) -> None:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)  # what policy.default parses into
        with self._arrived:
            path = self.directory / f"{self._number}.eml"
            path.write_bytes(raw)
            self._number += 1
            self._messages.append(message)
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[EmailMessage]:
        """The messages once at least ``count`` arrived (``TimeoutError`` after ``timeout_s``)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._messages) >= count, timeout_s):
                raise TimeoutError(
                    f"{len(self._messages)} mail(s) arrived within {timeout_s} s, not {count}"
                )
            return list(self._messages)

    def start(self) -> MailSink:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._number = _next_number(self.directory)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="globalpic-mail-sink",
        description="A local SMTP server that writes every mail it gets to DIR/<n>.eml",
    )
    parser.add_argument("--dir", type=Path, default=Path(".dev/mail"), help="where mails go")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    args = parser.parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with MailSink(args.dir, host=args.host, port=args.port) as sink:
        print(f"mail sink on {sink.host}:{sink.port}, writing to {args.dir}/", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
