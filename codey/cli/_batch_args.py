"""``codey batch``'s arguments (the parser's other commands are in ``_parser``)."""

from __future__ import annotations

import argparse
from typing import Optional

from codey.cli._argtypes import _non_negative_int, _positive, _positive_int, _schema

#: ``--parallel`` when not given.
DEFAULT_PARALLEL = 8

BATCH_HELP = "answer every prompt of a JSONL or CSV file, in parallel or as a provider batch"

BATCH_DESCRIPTION = (
    "Send every prompt of INPUT to a model, several at once, and append one JSON "
    "record per prompt to the output file as each answer completes: the id, model, "
    "text, finish reason, usage and timings, or the error (its type, message, "
    "status code and kind). The output is also the batch's state: run the same "
    "command again and every id already answered is skipped, every failed one "
    "tried again (the last record of an id is the one that counts). Each record is "
    "on disk (fsync) once written, so a crash or kill -9 loses only the answers in "
    "flight. Concurrency adapts: --parallel is the ceiling; a 429 or 529 halves it, "
    "clean answers grow it back, and the rate-limit headers (x-ratelimit-*, "
    "anthropic-ratelimit-*) pace the requests to what the provider allows. On a "
    "terminal, a progress bar on standard error (with the batch extra: pip install "
    "'codey[batch]'); always a summary line at the end. Ctrl-C or SIGTERM stops "
    "cleanly: what finished is kept, the rest runs next time. With --provider-batch, "
    "the prompts go through the provider's batch API instead (OpenAI's Batch API, "
    "Anthropic's Message Batches: half the price, answered within 24 hours): codey "
    "submits them, polls, and writes the same records; the batch ids are kept in "
    "OUTPUT.provider-batch.json until the results are in, so after a crash or Ctrl-C "
    "--resume collects the same batches instead of paying twice."
)


def batch_arguments(batch: argparse.ArgumentParser) -> None:
    batch.add_argument(
        "input",
        metavar="INPUT",
        help="the prompts: JSONL (.jsonl, .ndjson; each line a JSON string, a list of "
        'messages, or an object with "prompt" or "messages" and optionally "id", '
        '"model" and "options") or CSV (.csv, .tsv; a header row, the prompt in '
        "--column, else the prompt column, else the only one besides id and model); "
        "another name is read by its first character; - reads standard input "
        "(then -o is needed). A line without an id is "
        "numbered from 1; an id given twice is an error before any request",
    )
    batch.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="the JSONL output and state file, created if needed (default: INPUT with "
        "its suffix replaced by .out.jsonl: prompts.csv gives prompts.out.jsonl)",
    )
    batch.add_argument(
        "--column",
        metavar="NAME",
        help="the CSV column, or the key of the JSONL objects, that holds the prompt",
    )
    batch.add_argument(
        "-p",
        "--parallel",
        type=_positive_int,
        default=DEFAULT_PARALLEL,
        metavar="N",
        help=f"the most requests at once (default: {DEFAULT_PARALLEL}); "
        "fewer while the provider says to slow down",
    )
    batch.add_argument(
        "--retries",
        type=_non_negative_int,
        metavar="N",
        help="how often a prompt that failed before any text (connection, 429, 5xx) is "
        "tried again, with backoff, in this run (default: 4); with --provider-batch, "
        "how often each call to the batch API is",
    )
    batch.add_argument(
        "--schema",
        type=_schema,
        metavar="SCHEMA",
        help="every answer must be JSON matching SCHEMA (a JSON Schema file, or fields "
        "such as 'label str, score float', as for codey prompt --schema): the model is "
        "held to it where the provider can, each record gets the answer's JSON as "
        '"json", and an answer that does not match is a failed line, asked again on the '
        "next run (give the same --schema to --resume)",
    )
    batch.add_argument(
        "--provider-batch",
        action="store_true",
        help="submit the prompts not yet done through the provider's batch API (OpenAI "
        "models through OpenAI's Batch API, Anthropic's through Message Batches), "
        "wait for the results and write them as records; a prompt the batch did not "
        "answer (expired, cancelled) gets an error record, so running it again "
        "submits just those (--parallel does not apply: the provider paces the batch)",
    )
    batch.add_argument(
        "--resume",
        action="store_true",
        help="collect the provider batch in flight for this output (after a crash, "
        "Ctrl-C or a reboot) rather than submitting anything; codey batch refuses to "
        "run while one is in flight without it",
    )
    batch.add_argument(
        "--poll-interval",
        type=_positive,
        metavar="SECONDS",
        help="with --provider-batch or --resume: seconds between two looks at a batch "
        "(default: 30)",
    )


def check_batch(args: argparse.Namespace) -> Optional[str]:
    """What argparse cannot check on its own: a usage error, or None."""
    if args.input == "-" and not args.output:
        return "argument -o/--output: needed when INPUT is - (standard input)"
    return None
