# cython: language_level=3
"""The origin resolver's verdict cache, compiled.

The same class as corsfast/_verdicts_py.py (the readable reference, whose
docstring explains the eviction rule); this one exists for ``lookup``,
which runs on the request path of every request a policy's own tables
refuse: a type check, one dict read and one clock compare, about what an
exact-origin match in a policy's tables costs.

The clock is the platform's monotonic clock read directly; on Linux its
coarse variant (CLOCK_MONOTONIC_COARSE: the time of the last timer tick,
a few milliseconds at worst behind, read without touching the hardware
counter), which is plenty for time-to-lives of seconds and keeps the clock
read a small part of a hit. ``store`` and ``lookup`` both read it, so
expiry times never mix two clocks.
"""

from collections import OrderedDict

__all__ = ["VerdictCache", "clock"]

cdef extern from *:
    """
    #ifdef _WIN32
    #include <windows.h>
    static double corsfast_monotonic(void) {
        static LARGE_INTEGER freq;
        LARGE_INTEGER now;
        if (freq.QuadPart == 0) QueryPerformanceFrequency(&freq);
        QueryPerformanceCounter(&now);
        return (double)now.QuadPart / (double)freq.QuadPart;
    }
    #else
    #include <time.h>
    #ifdef CLOCK_MONOTONIC_COARSE
    #define CORSFAST_CLOCK CLOCK_MONOTONIC_COARSE
    #else
    #define CORSFAST_CLOCK CLOCK_MONOTONIC
    #endif
    static double corsfast_monotonic(void) {
        struct timespec ts;
        clock_gettime(CORSFAST_CLOCK, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    }
    #endif
    """
    double corsfast_monotonic() nogil


def clock():
    """The clock ``store`` and ``lookup`` read, in seconds."""
    return corsfast_monotonic()


cdef class _Entry:
    cdef object verdict  # True or False
    cdef double expires

    def __cinit__(self, object verdict, double expires):
        self.verdict = verdict
        self.expires = expires


cdef class VerdictCache:
    """Origin -> (verdict, expiry): at most ``maxsize`` entries."""

    cdef readonly Py_ssize_t maxsize
    cdef readonly Py_ssize_t hits
    cdef dict _verdicts   # origin -> _Entry; what lookup reads
    cdef object _allowed  # OrderedDict: origin -> _Entry, oldest first
    cdef object _refused

    def __init__(self, Py_ssize_t maxsize):
        self.maxsize = maxsize
        self.hits = 0
        self._verdicts = {}
        self._allowed = OrderedDict()
        self._refused = OrderedDict()

    def lookup(self, origin):
        """The fresh cached verdict for ``origin``, or None."""
        if type(origin) is not str:
            return None
        found = self._verdicts.get(origin)
        if found is None:
            return None
        cdef _Entry entry = <_Entry>found
        if entry.expires > corsfast_monotonic():
            self.hits += 1
            return entry.verdict
        return None

    def get(self, str origin):
        """``lookup`` without counting a hit (for a second look)."""
        found = self._verdicts.get(origin)
        if found is None:
            return None
        cdef _Entry entry = <_Entry>found
        if entry.expires > corsfast_monotonic():
            return entry.verdict
        return None

    def store(self, str origin, bint verdict, double ttl):
        """Cache ``verdict`` for ``ttl`` seconds from now."""
        cdef double now = corsfast_monotonic()
        self._forget(origin)
        self._expire(now)
        cdef dict verdicts = self._verdicts
        while len(verdicts) >= self.maxsize:
            oldest = self._refused if self._refused else self._allowed
            victim, _ = oldest.popitem(last=False)
            del verdicts[victim]
        entry = _Entry(True if verdict else False, now + ttl)
        (self._allowed if verdict else self._refused)[origin] = entry
        verdicts[origin] = entry

    def discard(self, str origin):
        """Drop ``origin``'s entry; whether there was one."""
        return self._forget(origin)

    def clear(self):
        self._verdicts.clear()
        self._allowed.clear()
        self._refused.clear()

    def counts(self):
        """(allowed entries, refused entries) held now, expired ones included."""
        return len(self._allowed), len(self._refused)

    def __len__(self):
        return len(self._verdicts)

    cdef bint _forget(self, str origin):
        found = self._verdicts.pop(origin, None)
        if found is None:
            return False
        (self._allowed if (<_Entry>found).verdict else self._refused).pop(origin, None)
        return True

    cdef void _expire(self, double now):
        """Drop expired entries: they sit at the front of each kind."""
        cdef _Entry entry
        for queue in (self._allowed, self._refused):
            while queue:
                origin = next(iter(queue))
                entry = <_Entry>queue[origin]
                if entry.expires > now:
                    break
                del queue[origin]
                del self._verdicts[origin]
