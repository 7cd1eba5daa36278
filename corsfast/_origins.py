"""Parse and canonicalize the origin entries of a policy (docs/spec.md
"Origin entries").

Runs once, at construction. Each entry becomes one of:

- ``ANY``          ``"*"``
- ``EXACT``        ``scheme://host[:port]`` (and the literal ``"null"``)
- ``ANY_PORT``     ``scheme://host:*``: that host on any explicit port
- ``SUBDOMAIN``    ``scheme://*.base[:port]``: one or more labels before base
- ``SUB_ANY_PORT`` ``scheme://*.base:*``

A bad entry raises :class:`EntryError` whose text is the fix, phrased for a
person ("drop the trailing slash: write 'https://a.com'").
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple, NoReturn, Optional

from ._rules import DEFAULT_PORTS
from ._suffixes import is_shared_suffix

__all__ = ["EntryError", "OriginEntry", "credentialed_risk", "entry_host", "is_loopback",
           "parse_origin_entry"]

ANY = "any"
EXACT = "exact"
ANY_PORT = "any_port"
SUBDOMAIN = "subdomain"
SUB_ANY_PORT = "sub_any_port"

_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?")
_PORT = re.compile(r"[1-9][0-9]{0,4}")


class EntryError(Exception):
    """An origin entry is invalid; the message says how to fix it."""


class OriginEntry(NamedTuple):
    kind: str
    # For EXACT: the origin. For ANY_PORT / SUB_ANY_PORT: "scheme://host".
    # For SUBDOMAIN: "scheme://base" plus ":port" when the pattern has one.
    key: str


def parse_origin_entry(entry: object) -> OriginEntry:
    if not isinstance(entry, str):
        raise EntryError(
            f"must be a string such as 'https://app.example.com', "
            f"not {type(entry).__name__}"
        )
    if entry == "*":
        return OriginEntry(ANY, "*")
    if entry == "null":
        return OriginEntry(EXACT, "null")
    if entry.strip() != entry or not entry:
        _fail(entry, "remove the surrounding whitespace", entry.strip())
    if entry.lower() == "null":
        raise EntryError("write the null origin as 'null', in lowercase")
    if "://" not in entry:
        raise EntryError(
            f"missing the scheme: write 'https://{entry}' (or 'http://...')"
        )
    scheme, rest = entry.split("://", 1)
    if not _SCHEME.fullmatch(scheme.lower()):
        raise EntryError(f"'{scheme}' is not a URL scheme")
    if scheme != scheme.lower():
        _fail(entry, "write the scheme and host in lowercase",
              scheme.lower() + "://" + (rest.lower() if rest.isascii() else rest))
    if scheme == "file":
        raise EntryError("browsers send the origin 'null' for file: URLs; "
                         "list 'null' if you mean to allow them")

    for mark, what in (("#", "fragment"), ("?", "query")):
        if mark in rest:
            _fail(entry, f"drop the {what}",
                         f"{scheme}://{rest.split(mark, 1)[0].split('/', 1)[0]}")
    if "/" in rest:
        authority, path = rest.split("/", 1)
        what = "trailing slash" if path == "" else "path"
        _fail(entry, f"drop the {what}", f"{scheme}://{authority}")
    if "@" in rest:
        _fail(entry, "drop the user info",
                     f"{scheme}://{rest.rsplit('@', 1)[1]}")

    host, port = _split_host_port(rest)
    any_port = port == "*"
    if port is not None and not any_port:
        port = _check_port(entry, scheme, host, port)

    pattern = host.startswith("*.")
    if pattern:
        host = host[2:]
    if "*" in host:
        raise EntryError(
            "'*' may only stand as the whole first label of the host "
            "('https://*.example.com') or as the whole port ('http://localhost:*')"
        )
    canonical_host = _canonical_host(entry, host, pattern)
    if pattern and canonical_host.count(".") < 1:
        raise EntryError(
            "a subdomain pattern needs a base of at least two labels, such as "
            "'https://*.example.com'; a single-label base would match a whole "
            "top-level domain"
        )

    prefix = f"{scheme}://"
    if any_port:
        return OriginEntry(SUB_ANY_PORT if pattern else ANY_PORT,
                           prefix + canonical_host)
    suffix = "" if port is None else f":{port}"
    written = prefix + ("*." if pattern else "") + canonical_host + suffix
    if host != canonical_host and written != entry:
        # Unicode hosts are stored as punycode silently (docs/spec.md "Exact origins"); any
        # other difference means the entry was not in canonical form.
        if host.isascii():
            _fail(entry, "write the host in canonical (lowercase) form",
                         written)
    return OriginEntry(SUBDOMAIN if pattern else EXACT,
                       prefix + canonical_host + suffix)


def entry_host(entry: OriginEntry) -> tuple[str, str]:
    """The scheme and host (a pattern's base) of a parsed entry."""
    scheme, _, rest = entry.key.partition("://")
    if rest.startswith("["):
        return scheme, rest[: rest.find("]") + 1]
    return scheme, rest.split(":", 1)[0]


def is_loopback(host: str) -> bool:
    """A host that names this machine (https://w3c.github.io/webappsec-secure-contexts/#localhost):
    ``localhost`` and its subdomains, 127.0.0.0/8 and ``[::1]``. Such an
    origin is a secure context even over plain http."""
    if host in ("localhost", "[::1]") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        return False


def _fail(entry: str, fix: str, suggestion: str) -> NoReturn:
    raise EntryError(f"{fix}: write '{suggestion}'")


def _split_host_port(rest: str) -> tuple[str, str | None]:
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise EntryError("an IPv6 host needs its closing ']'")
        host, after = rest[: end + 1], rest[end + 1:]
        if not after:
            return host, None
        if not after.startswith(":"):
            raise EntryError("after an IPv6 host only ':port' may follow")
        return host, after[1:]
    if rest.count(":") > 1:
        raise EntryError("an IPv6 host must be written in brackets, "
                         "such as 'http://[::1]:8000'")
    host, sep, port = rest.partition(":")
    return host, (port if sep else None)


def _check_port(entry: str, scheme: str, host: str, port: str) -> str:
    if not _PORT.fullmatch(port) or int(port) > 65535:
        if port.isdigit() and port.lstrip("0") and int(port) <= 65535:
            _fail(entry, "drop the port's leading zeros",
                  f"{scheme}://{host}:{int(port)}")
        raise EntryError(
            f"the port must be a number from 1 to 65535, or '*' for any port; "
            f"got '{port}'"
        )
    if DEFAULT_PORTS.get(scheme) == int(port):
        # Browsers never send a scheme's default port [RFC 6454 6.1].
        _fail(entry, f"drop the default port {port}", f"{scheme}://{host}")
    return port


def _canonical_host(entry: str, host: str, pattern: bool) -> str:
    if not host:
        raise EntryError("the host is empty")
    if host.startswith("["):
        if pattern:
            raise EntryError("a subdomain pattern cannot have an IP address base")
        if "%" in host:
            # A zone id names a local interface; browsers never put one in
            # an Origin (https://url.spec.whatwg.org/#concept-ipv6).
            zone = host[host.find("%"):-1]
            raise EntryError(f"an IPv6 zone id is never part of an origin: write "
                             f"'{entry.replace(zone, '')}'")
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise EntryError(f"'{host}' is not a valid IPv6 address") from None
        canonical = f"[{address.compressed}]"
        if canonical != host:
            raise EntryError(f"write the IPv6 address the way browsers send it: "
                             f"'{canonical}'")
        return canonical
    if host.endswith("."):
        # A distinct origin that browsers do send (https://example.com. is
        # not https://example.com): kept as written, never "fixed".
        inner = host[:-1]
        if not inner or inner.endswith("."):
            raise EntryError("the host has an empty label")
        if _ends_in_number(inner):
            raise EntryError(f"browsers read '{host}' as an IPv4 address and send "
                             f"it without the dot: write '{inner}'")
        return _canonical_host(entry, inner, pattern) + "."
    labels = host.split(".")
    if all(label.isdigit() for label in labels if label) and host[0].isdigit():
        if pattern:
            raise EntryError("a subdomain pattern cannot have an IP address base")
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise EntryError(f"'{host}' is not a dotted-quad IPv4 address") from None
    if _ends_in_number(host):
        # The URL parser reads a host whose last label is a number as an IPv4
        # address (https://url.spec.whatwg.org/#ends-in-a-number-checker),
        # and this one is not a valid one: no browser sends such an origin.
        raise EntryError(f"'{host}' ends in a number but is not a dotted-quad "
                         f"IPv4 address; no browser can send it")
    if not host.isascii():
        host = _to_punycode(host)
    elif host != host.lower():
        return host.lower()  # reported by the caller with the suggestion
    for label in host.split("."):
        if not _LABEL.fullmatch(label):
            raise EntryError(
                f"'{label}' is not a valid host label (letters, digits, '-' and "
                f"'_', 1-63 characters, not starting or ending with '-')"
            )
        if label.startswith("xn--") and not _punycode_ok(label):
            raise EntryError(f"'{label}' is not valid punycode; write the host in "
                             f"Unicode and corsfast stores its punycode")
    if len(host) > 253:
        raise EntryError("the host is longer than 253 characters")
    return host


_NUMBER = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")


def _ends_in_number(host: str) -> bool:
    """Whether the URL parser would read ``host`` as an IPv4 address: its
    last label is a decimal or hex number."""
    return _NUMBER.fullmatch(host.rsplit(".", 1)[-1]) is not None


def _punycode_ok(label: str) -> bool:
    """An ``xn--`` label that decodes to a valid internationalized label
    and encodes back to itself (what a browser's URL parser would keep)."""
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
        return (bool(decoded) and not decoded.isascii()
                and decoded.encode("idna").decode("ascii") == label)
    except (UnicodeError, ValueError):
        return False


def _to_punycode(host: str) -> str:
    """Unicode host -> the ASCII form browsers put in Origin (UTS #46)."""
    try:
        import idna  # optional: IDNA 2008 with UTS #46 mapping, as browsers
    except ImportError:
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError:
            raise EntryError(f"'{host}' is not a valid internationalized "
                             f"host name") from None
    try:
        return str(idna.encode(host, uts46=True, transitional=False).decode("ascii"))
    except idna.IDNAError:
        raise EntryError(f"'{host}' is not a valid internationalized "
                         f"host name") from None


def credentialed_risk(written: str, entry: OriginEntry, insecure_ok: bool,
                      suffix_ok: bool, where: str = "with allow_credentials=True",
                      ) -> Optional[tuple[str, str, str]]:
    """(the opt-in, what is wrong, the fix) for an entry that would trust
    strangers with credentials (docs/spec.md "Origin entries", rule 10), or
    None. ``where`` says how credentials come in: a Policy's own entries
    with ``allow_credentials=True``, or an OriginSet's, which may serve such
    a policy. Shared by :class:`corsfast.Policy` and
    :class:`corsfast.OriginSet`, so both refuse the same entries in the same
    words."""
    scheme, host = entry_host(entry)
    if scheme == "http" and not insecure_ok and not is_loopback(host):
        return ("allow_insecure_origins",
                f"a plain-http origin {where}: anyone on the "
                f"network path can inject script into it and read credentialed "
                f"answers", f"use '{written.replace('http://', 'https://', 1)}'")
    if entry.kind in (SUBDOMAIN, SUB_ANY_PORT) and not suffix_ok and \
            is_shared_suffix(host):
        return ("allow_public_suffix_patterns",
                f"'{host}' is a public suffix: strangers register names under "
                f"it, and {where} each of them could read "
                f"credentialed answers",
                f"list your own hosts, such as '{scheme}://yourapp.{host}'")
    return None
