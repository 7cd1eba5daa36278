# What other compiled modules may use of the engine (corsfast._engine_c).
# The adapters' hot paths (src/corsfast/_adapters_c.pyx) cimport these; the
# engine itself matches requests against a policy's tables and nothing else.


cdef class Decision:
    cdef readonly bint allowed
    cdef readonly bint preflight
    cdef readonly object reason
    cdef readonly object status
    cdef readonly tuple headers
    cdef readonly tuple raw_headers
    cdef readonly tuple reasons


cdef class Matcher:
    cdef readonly object tables
    cdef bint any_origin, every_origin, has_patterns, methods_any, headers_any
    cdef bint private_network, echo_method, echo_headers, echo_as_sent
    cdef bint allowed_headers_only, every_reason, loose_origins, pna_answer
    cdef object header_regex
    cdef frozenset exact, any_port, subdomains, sub_any_port, methods, headers
    cdef frozenset always_allowed_methods
    cdef object dynamic
    cdef object origin_set
    cdef object preflight_status
    cdef object refused_status
    cdef tuple acao_star, actual_tail, preflight_tails, refused_preflight_headers
    cdef Decision not_cors, star_actual, refused_actual, malformed_actual
    cdef Decision pf_origin, pf_method, pf_headers, pf_pna, pf_malformed
    cdef tuple small_exact, small_exact_raw, small_actual
    cdef bint exact_only
    cdef dict refusals
    cdef bint origins_change
    cdef dict actual_cache
    cdef dict allowed_cache
    cdef Py_ssize_t refused_stored
    cdef dict preflight_cache
    cdef dict acrh_cache


# The Matcher this engine uses for a policy, or the matcher itself (raises
# TypeError for anything that is neither).
cdef Matcher matcher_of(object policy)

# check_request on a Matcher: never raises on request data.
cdef Decision check(Matcher m, object method, object origin, object request_method,
                    object request_headers, object request_private_network)

# Whether a request method (str, bytes, or a subclass) is OPTIONS.
cdef bint options_method(object method) except -1
