"""Subcommands of the ``act`` CLI; each module defines ``register(subparsers)``.

``act --help`` imports every module here, so each imports at module level only what is light
(act.io, act.checkpoint, act.provenance, act.metrics.protocol, other commands); whatever pulls in
torch, numpy or yaml (act.config) is imported inside the ``run`` functions.
"""
