"""The fixture's domain vocabulary: ``fx.picks``, ``fx.create``, ``fx.find``, ``fx.override``.

Each speaks AlgaPSA's own tables and ``/api/v1`` routes, the same on a real target as on the
sandbox; whatever it creates or changes registers its own durable (journaled) cleanup.
"""
