"""The pure core: plain data in, plain data out.

Nothing under ``smtpprobe.core`` opens a socket, reads a file, looks at the
clock or imports asyncio; ``tests/core/test_purity.py`` enforces it.
"""
