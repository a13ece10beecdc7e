"""What the kit and the sandbox agree on about AlgaPSA: the bundle format, the domain events with
their payload schemas, sample payloads, and the shape of validation issues.

Both sides import from here; nothing here imports either side.
"""
