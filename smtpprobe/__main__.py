"""``python -m smtpprobe``."""

from smtpprobe.entry import main

if __name__ == "__main__":
    main()
