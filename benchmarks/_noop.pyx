# cython: language_level=3
"""The benchmark floor: a compiled function with check_request's signature
that does nothing, so that check_request / noop_check is what a decision
costs over the bare price of the call."""


def noop_check(policy, method, origin, request_method=None, request_headers=None,
               request_private_network=None):
    return None
