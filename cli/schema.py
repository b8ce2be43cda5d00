"""envctl schema: the JSON Schema of environment and template files, for editors."""

from __future__ import annotations

import json

import click

from envctl.definitions.models import EnvironmentDefinition, TemplateDefinition
from envctl.definitions.project import ProjectSettings

KINDS = {
    "environment": EnvironmentDefinition,
    "template": TemplateDefinition,
    "project": ProjectSettings,
}


@click.command()
@click.option(
    "--kind",
    type=click.Choice(sorted(KINDS)),
    default="environment",
    show_default=True,
    help="Which file the schema describes.",
)
def schema(kind: str) -> None:
    """Print the JSON Schema of a definition file.

    \b
    Example (VS Code with the YAML extension):
      envctl schema > .envctl-schema.json
      # then in environments/*.yaml: # yaml-language-server: $schema=../.envctl-schema.json
    """
    document = KINDS[kind].model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    click.echo(json.dumps(document, indent=2, sort_keys=True))
