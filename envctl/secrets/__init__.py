"""Secrets from Vault: where each scope lives, the per-environment policy and AppRole role, the
checks before any cloud change, and the one-time handoff that lets a box fetch its secrets.

envctl itself never reads a secret value: it writes values (`envctl secrets set`), checks that
named secrets exist by reading their metadata, and manages who may read them. Only the fetcher
on the instance (instance/secrets/fetch.py) reads values. Importing this package loads no hvac.
"""
