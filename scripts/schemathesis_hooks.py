"""schemathesis hooks for dealerpay (loaded by scripts/schemathesis through SCHEMATHESIS_HOOKS).

`positive_data_acceptance` is told that 400 can be an answer to a schema-valid request: the
myKaarma and Checkout contracts answer *business* rules (an unknown dealer, an expired link, an
amount over what is due) with 400 and a catalog code. What must never happen is the server
refusing, as malformed, a request the document calls well formed; that is this check: a
schema-valid request answered with one of the validation messages that are about the
request's shape (a field the document leaves optional is required, a value the document
allows is not a UUID, a timestamp, one of the listed values, or within the documented length).

Not counted: an empty `Idempotency-Key`. schemathesis sends an empty optional header as its
"absent" case; the server refuses an empty key on purpose (a client that templated the header
and believes its retries are safe must hear that they are not).
"""

import re

import schemathesis
from hypothesis.internal import lambda_sources

# Not about the API: under this machine's CPython 3.11.7, `ast.parse` now and then raises
# `SystemError: AST constructor recursion depth mismatch` in a worker thread (schemathesis runs
# two; Hypothesis changes the interpreter-wide recursion limit around its draws, the likely
# trigger — a single thread parsing the same file never fails). Hypothesis parses source files
# only to *describe* the lambdas of a strategy (its repr), and the error aborted an operation as
# a "Runtime Error". Such a description is retried, then falls back to an "unknown" one, as
# Hypothesis' own when it cannot tell; generation and checks are untouched.
_describe_lambda = lambda_sources._lambda_description


def _describe_lambda_despite_the_race(f, *args, **kwargs):
    for _ in range(3):
        try:
            return _describe_lambda(f, *args, **kwargs)
        except SystemError as e:
            if "recursion depth mismatch" not in str(e):
                raise
    return "lambda: <unknown>"


lambda_sources._lambda_description = _describe_lambda_despite_the_race

SHAPE = re.compile(
    r"(: is required$|: must be a UUID|: must be an RFC 3339 timestamp|: must be one of|"
    r": must be (dealer|department)$|: not valid JSON|: is empty; expected a JSON object|"
    r"Content-Type: must be application/json|"
    r": must be \d+ to \d+ (characters|letters))"
)


def _descriptions(body):
    if not isinstance(body, dict):
        return []
    out = []
    for e in body.get("errors") or []:  # v1: {"errors": [{errorDescription}]}
        if isinstance(e, dict):
            out.append(str(e.get("errorDescription", "")))
    err = body.get("error")
    if isinstance(err, dict):  # v3 {"error": {errorDescription}}, Checkout {"error": {detail}}
        out.append(str(err.get("errorDescription", err.get("detail", ""))))
    return out


@schemathesis.check
def documented_shape_is_accepted(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    try:
        body = response.json()
    except Exception:
        return None
    for d in _descriptions(body):
        if SHAPE.search(d):
            raise AssertionError(
                "A request the OpenAPI document calls well formed was refused as malformed: "
                f"{d!r}. Make the document say what the server requires."
            )
    return None
