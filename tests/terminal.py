"""Run a command in a real pseudo-terminal and read back what it left on the screen (pyte emulates the terminal)."""

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from typing import List, Tuple

import pyte


def run_in_terminal(args: List[str], cwd, env: dict, cols: int = 140, rows: int = 60, timeout: float = 300) -> Tuple:
    """Run `python args` with stdin, stdout and stderr on a new pseudo-terminal; return (exit code, bytes shown)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    full_env = dict(env, TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
    proc = subprocess.Popen(
        [sys.executable, *args], cwd=cwd, env=full_env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True
    )
    os.close(slave)
    received, deadline = bytearray(), time.time() + timeout
    try:
        while time.time() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every process holding the terminal has closed it
                break
            if not chunk:
                break
            received += chunk
        else:
            proc.kill()
            raise AssertionError(f"timed out after {timeout} s:\n{bytes(received)[-3000:].decode(errors='replace')}")
        return proc.wait(timeout=60), bytes(received)
    finally:
        os.close(master)


def screen(received: bytes, cols: int = 140, rows: int = 400) -> List[str]:
    """The lines a terminal `cols` wide shows after `received`, trailing blanks cut (tall: nothing scrolls off)."""
    emulator = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(emulator)
    stream.feed(received)  # the terminal's line discipline has already turned each \n into \r\n
    lines = [line.rstrip() for line in emulator.display]
    while lines and not lines[-1]:
        lines.pop()
    return lines
