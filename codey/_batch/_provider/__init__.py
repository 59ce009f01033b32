"""Provider batch APIs, for half the price: OpenAI's Batch API and Anthropic's Message
Batches, behind ``codey.batch(..., provider_batch=True)``.

- ``_apis``: the two APIs on the wire (submit, poll, the results by custom id);
- ``_state``: the state file that lets a resumed run collect the same batches;
- ``_run``: submit, poll, collect into the output's records.

Nothing is imported here, so that ``codey.batch()`` reads the state file without
loading the runner a streamed batch does not need.
"""
