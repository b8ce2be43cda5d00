"""Jinja2 rendering of the files in instance/templates.

Autoescape is off because the output is shell and systemd units, not HTML. No text from an
environment definition is ever passed in: such text travels as data files inside the payload.
"""

from __future__ import annotations

import functools

import jinja2


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("envctl.instance", "templates"),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(template: str, **values: object) -> str:
    """Render one template of instance/templates with the given values."""
    return _environment().get_template(template).render(**values)
