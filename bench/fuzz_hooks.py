"""Schemathesis hooks for bench/fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

The fuzzer signs in as an admin and may call every operation with that token. It must not
lock itself out halfway through a run: `PATCH /api/users/{id}` on its own account could
deactivate it or take its admin role away, after which every later request answers 401/403
and the run would look green while testing nothing. Those cases are dropped here; the same
operation on every other user id is still fuzzed.
"""

import os

import schemathesis

SELF_ID = os.environ.get("FUZZ_SELF_ID", "")


@schemathesis.hook
def filter_case(context, case):
    operation = case.operation
    if operation.method.upper() == "PATCH" and operation.path.endswith("/users/{id}"):
        return str((case.path_parameters or {}).get("id")) != SELF_ID
    return True


# Random ids almost never name a row, so every route under /{id} would only ever hear 404.
# Half of the generated ids are swapped for the low ids of the rows bench/fuzz.sh seeds
# (customers, tickets, their mail; the default canned responses), so the handlers behind the
# 404 are fuzzed too.
@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    from hypothesis import strategies as st

    if not path_parameters or not isinstance(path_parameters.get("id"), int):
        return st.just(path_parameters)
    seeded = [dict(path_parameters, id=known) for known in (1, 2)]
    return st.sampled_from([path_parameters, *seeded])
