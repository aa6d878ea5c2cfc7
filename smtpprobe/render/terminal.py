"""What only a terminal gets: colour (via rich) and a live status line while waiting.

Colour goes to standard output only when it is a terminal, ``NO_COLOR`` is unset
or empty (https://no-color.org) and ``TERM`` is not ``dumb``; pipes, files and
``--json`` get plain text. The status line ("waiting for the greeting… 6 s of 15")
goes to standard error only when that is a terminal, is redrawn in place and
erased before the report is printed: it never reaches standard output.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import IO

from smtpprobe.render.columns import clip
from smtpprobe.render.labels import phase_doing
from smtpprobe.render.tone import Line, Tone, join, visible

__all__ = ["StatusLine", "for_stream", "is_terminal", "paint", "status_line", "use_colour"]

_STYLES = {
    Tone.PLAIN: "",
    Tone.GOOD: "bold green",
    Tone.BAD: "bold red",
    Tone.WARN: "yellow",
}


def is_terminal(stream: IO[str] | None) -> bool:
    """True when ``stream`` is an interactive terminal."""
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def use_colour(stream: IO[str] | None, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether to colour what goes to ``stream``."""
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def paint(lines: Sequence[Line]) -> str:
    """The lines with ANSI colours by tone (rich's rendering; no wrapping, no markup)."""
    if all(line.tone is Tone.PLAIN for line in lines):
        return join(lines)
    from rich.console import Console
    from rich.text import Text

    console = Console(
        force_terminal=True,
        color_system="standard",
        no_color=False,
        highlight=False,
        markup=False,
        emoji=False,
        width=1 << 16,
    )
    with console.capture() as captured:
        for line in lines:
            console.print(Text(line.text, style=_STYLES[line.tone]), soft_wrap=True)
    return captured.get().removesuffix("\n")


def for_stream(lines: Sequence[Line], stream: IO[str] | None) -> str:
    """The lines as ``stream`` should get them: coloured for a terminal, else plain; in
    both, a server's control characters are shown as escapes, never sent (``visible``)."""
    shown = [Line(visible(line.text), line.tone) for line in lines]
    return paint(shown) if use_colour(stream) else join(shown)


class StatusLine:
    """A one-line "what we wait for, for how long" on a terminal, while a probe runs.

    ``on_phase(phase, timeout)`` is ``smtpprobe.api.probe``'s progress callback; a
    thread redraws the line every ``interval`` seconds once a phase has lasted
    ``delay`` seconds (a fast server shows nothing), and the line is erased when the
    block ends. Nothing is drawn before the first phase, so a password prompt is
    never overwritten.
    """

    def __init__(
        self,
        stream: IO[str],
        lang: str = "en",
        *,
        delay: float = 1.0,
        interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        columns: Callable[[], int] | None = None,
    ) -> None:
        self.stream = stream
        self.lang = lang
        self.delay = delay
        self.interval = interval
        self.clock = clock
        self.columns = columns or (lambda: os.get_terminal_size(stream.fileno()).columns)
        self._phase: tuple[str, float, float] | None = None  # name, timeout, started
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._shown = False

    def on_phase(self, phase: str, timeout: float) -> None:
        """A new phase began; its own time limit is ``timeout`` seconds."""
        with self._lock:
            self._phase = (phase, timeout, self.clock())

    def text(self) -> str | None:
        """What the line says now, or None while there is nothing worth showing."""
        with self._lock:
            current = self._phase
        if current is None:
            return None
        phase, timeout, started = current
        waited = self.clock() - started
        if waited < self.delay:
            return None
        doing = phase_doing(phase, self.lang)
        if self.lang == "ja":
            return f"{doing}… {timeout:g} 秒中 {int(waited)} 秒"
        return f"{doing}… {int(waited)} s of {timeout:g}"

    def draw(self) -> None:
        """Redraw the line in place (or erase it when there is nothing to show)."""
        text = self.text()
        try:
            width = max(10, self.columns() - 1)
        except (OSError, ValueError):
            width = 79
        if text is not None:
            self.stream.write(f"\r\x1b[2K{clip(text, width)}")
            self._shown = True
        elif self._shown:
            self.stream.write("\r\x1b[2K")
            self._shown = False
        self.stream.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.draw()

    def __enter__(self) -> StatusLine:
        self._thread = threading.Thread(target=self._run, name="smtpprobe-status", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._shown = False


def status_line(stream: IO[str], lang: str) -> StatusLine | None:
    """A status line on ``stream`` when a person watches it (a terminal), else None."""
    return StatusLine(stream, lang) if is_terminal(stream) else None
