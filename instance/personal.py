"""The personal layer: what an environment's owner adds on top of the shared definition."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PersonalLayer:
    """The owner's dotfiles and setup script, applied on the box after the shared setup.

    It comes from the owner's own configuration, not from the environment definition, so two
    people can share a definition and still get their own shell.
    """

    dotfiles_url: str | None = None
    """Clone URL of a dotfiles repository, cloned to ~/.dotfiles; its install script runs."""

    dotfiles_ref: str = "HEAD"
    """Branch, tag or commit of the dotfiles repository."""

    setup: str | None = None
    """Shell script run as the user after the dotfiles."""
