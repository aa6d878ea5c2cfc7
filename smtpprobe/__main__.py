"""``python -m smtpprobe``."""

from smtpprobe.cli import main

if __name__ == "__main__":
    main()
