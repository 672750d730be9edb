"""The `run` options for hosted and reasoning models: API key, request fields, prices, timeout.

One decorator group, so that the command modules stay lists of commands: it gives the command one dict
`hosted` of `EngineConfig` fields.
"""

from __future__ import annotations

import functools
import json
import os

import click

from planbench_scale.backends.openai_http import OMITTABLE
from planbench_scale.errors import PlanbenchError

HOSTED = ("api_key_env", "reasoning_effort", "extra_body", "omit", "price_in", "price_cached_in",
          "price_out", "request_timeout")
"""The `EngineConfig` fields these options fill."""


def _json_object(ctx, param, text: str | None) -> dict:
    """--extra-body: a JSON object, or one clear line."""
    try:
        value = json.loads(text) if text else {}
    except ValueError as error:
        raise PlanbenchError(f"--extra-body is not JSON ({error}): {text[:80]!r}") from None
    if not isinstance(value, dict):
        raise PlanbenchError(f"--extra-body must be a JSON object like '{{\"top_k\": 20}}', not {text[:80]!r}")
    return value


def reasoning_options(function):
    """Options for hosted and reasoning models, given to `function` as one dict `hosted`
    of EngineConfig fields."""
    money = dict(type=click.FloatRange(0), default=None, metavar="USD")
    for option in reversed([
            click.option("--api-key-env", metavar="NAME", help="Environment variable holding the API key "
                         "for --engine openai (default: OPENAI_API_KEY when it is set)."),
            click.option("--reasoning-effort", type=click.Choice(["low", "medium", "high"]),
                         help="Sent as reasoning_effort (OpenAI reasoning models)."),
            click.option("--extra-body", callback=_json_object, metavar="JSON",
                         help='Provider-specific request fields, e.g. \'{"top_k": 20}\'.'),
            click.option("--omit", multiple=True, type=click.Choice(OMITTABLE),
                         help="A request field never sent, for servers that refuse it (repeatable)."),
            click.option("--price-in", **money, help="USD per million prompt tokens computed."),
            click.option("--price-cached-in", **money, help="USD per million prompt tokens served "
                         "from the prefix cache (default: --price-in)."),
            click.option("--price-out", **money, help="USD per million generated tokens (reasoning included)."),
            click.option("--request-timeout", default=1800.0, show_default=True, type=click.FloatRange(1),
                         help="Seconds one HTTP request may take before it is retried.")]):
        function = option(function)

    @functools.wraps(function)
    def collect(**options):
        hosted = {name: options.pop(name) for name in HOSTED}
        if options["engine"] == "openai" and not hosted["api_key_env"] and os.environ.get("OPENAI_API_KEY"):
            hosted["api_key_env"] = "OPENAI_API_KEY"
        return function(hosted=hosted, **options)
    return collect
