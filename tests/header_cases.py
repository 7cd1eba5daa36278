"""What an application's own headers become under the decision's (for the
drop-ins that write through their framework's header API): (the headers the
application set, what stays or is merged besides the decision's own)."""

from __future__ import annotations

WRITE_OVER_CASES = [
    ([], {}),
    ([("Content-Type", "text/plain"), ("X-Total", "3")],
     {"content-type": "text/plain", "x-total": "3"}),
    ([("Vary", "Accept-Encoding")], {"vary": "Accept-Encoding, origin"}),
    ([("Access-Control-Allow-Origin", "*"), ("X-A", "1")], {"x-a": "1"}),
    ([("Access-Control-Max-Age", "5"), ("Vary", "*")], {"vary": "*"}),
]
