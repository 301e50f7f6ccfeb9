"""A small DNS client, standard library only: ask a zone's authoritative name servers which CNAME a
name has, and ask a public resolver which name servers a zone has.

Why the authoritative servers: they answer from the hosted zone as it is now, so after a Route 53
change is INSYNC they say what Route 53 answers. A caching resolver (1.1.1.1, the VPC resolver) keeps
an answer for its TTL, and a "no such record" for the zone's negative TTL (RFC 2308), so it can show
the old target for minutes after a failover. The CNAME query is therefore sent to the zone's own
servers with recursion not desired (RD=0), and the reply must be authoritative (AA=1). Finding those
servers is the one question a resolver may answer: a zone's NS set changes rarely, and a Route 53
hosted zone keeps its delegation set for life.

The Lambda function cannot bundle dnspython, so this is the wire format itself, RFC 1035:
  - 4.1.1 header (id, QR, opcode, AA, TC, RD, RCODE, section counts); 4.1.2 question; 4.1.3 resource
    records; 4.1.4 name compression: a pointer must point to a prior occurrence, and here each pointer
    must point before the previous one (as dnspython requires), so a pointer loop is an error, never
    endless or deep recursion;
  - 2.3.4 size limits: labels of 63 octets or less, names of 255 octets or less;
  - 3.3.1 CNAME and 3.3.11 NS RDATA: one domain name, which may be compressed;
  - 4.2.1 UDP, and 4.2.2 TCP (each message preceded by its two-octet length), used when a UDP reply
    has TC set: RFC 2181 section 9 says a truncated reply is ignored and the question asked again
    over TCP, so a reply with TC set is never used as an answer.
A reply must carry the query's id and echo its question (RFC 5452 section 9.1); any failure, from a
timeout to a malformed message, raises DnsQueryFailed. There is no retransmission: a query costs at
most `timeout` over UDP plus, only after a truncated reply, `timeout` over TCP. Resolving a server's
host name uses the system resolver (socket.getaddrinfo), which `timeout` does not bound: pass IP
addresses where that matters.
"""

from __future__ import annotations

import secrets
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

# Resource record types (RFC 1035 3.2.2) and the one class used (3.2.4).
TYPE_A = 1
TYPE_NS = 2
TYPE_CNAME = 5
TYPE_PTR = 12
CLASS_IN = 1
# Types whose RDATA is a single domain name: the ones parse_answer can return.
_NAME_TYPES = frozenset({TYPE_NS, TYPE_CNAME, TYPE_PTR})

# Header flag bits (RFC 1035 4.1.1).
_QR = 0x8000
_OPCODE_MASK = 0x7800
_AA = 0x0400
_TC = 0x0200
_RD = 0x0100
_RCODE_MASK = 0x000F

# RCODE names: RFC 1035 4.1.1, RFC 2136 2.2.
RCODE_NAMES = {
    0: "NOERROR",
    1: "FORMERR",
    2: "SERVFAIL",
    3: "NXDOMAIN",
    4: "NOTIMP",
    5: "REFUSED",
    6: "YXDOMAIN",
    7: "YXRRSET",
    8: "NXRRSET",
    9: "NOTAUTH",
    10: "NOTZONE",
}

_HEADER = struct.Struct("!6H")
_QUESTION_TAIL = struct.Struct("!2H")
_RECORD_TAIL = struct.Struct("!2HIH")
_TCP_LENGTH = struct.Struct("!H")
_MAX_LABEL = 63
_MAX_NAME = 255
_UDP_BUFFER = 65535

# (query, host, port, timeout in seconds) -> reply: one exchange of a DNS message.
Send = Callable[[bytes, str, int, float], bytes]


class DnsQueryFailed(Exception):
    """A DNS question got no usable answer; `rcode` names the server's RCODE when it answered one."""

    def __init__(self, message: str, *, rcode: str | None = None) -> None:
        super().__init__(message)
        self.rcode = rcode


def encode_name(name: str) -> bytes:
    """`name` in wire format (RFC 1035 3.1), with or without its trailing dot; "." is the root."""
    if not name:
        raise ValueError(f"not a domain name: {name!r}")
    text = name[:-1] if name.endswith(".") else name
    wire = bytearray()
    for label in text.split(".") if text else []:
        try:
            raw = label.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError(f"{name!r}: use the IDNA (xn--) form of a non-ASCII label") from None
        if not raw:
            raise ValueError(f"{name!r} has an empty label")
        if len(raw) > _MAX_LABEL:
            raise ValueError(f"{name!r} has a label of {len(raw)} octets, more than {_MAX_LABEL}")
        wire.append(len(raw))
        wire += raw
    wire.append(0)
    if len(wire) > _MAX_NAME:
        raise ValueError(f"{name!r} is {len(wire)} octets in wire format, more than {_MAX_NAME}")
    return bytes(wire)


def build_query(name: str, rtype: int, *, query_id: int, recursion_desired: bool) -> bytes:
    """A standard query (opcode QUERY, class IN) for `name` and `rtype`, with no EDNS."""
    if not 0 <= query_id <= 0xFFFF:
        raise ValueError(f"query id {query_id} is not a 16-bit number")
    if not 0 <= rtype <= 0xFFFF:
        raise ValueError(f"record type {rtype} is not a 16-bit number")
    flags = _RD if recursion_desired else 0
    header = _HEADER.pack(query_id, flags, 1, 0, 0, 0)
    return header + encode_name(name) + _QUESTION_TAIL.pack(rtype, CLASS_IN)


def parse_answer(message: bytes, *, query_id: int, rtype: int, name: str | None = None) -> list[str]:
    """The RDATA names (lower-case, ending with '.') of the answer records of type `rtype`, class IN,
    owned by the question's name, in the message's order; other records (RRSIG, A, a CNAME chain's
    next link) are skipped. The reply must be a NOERROR response to query `query_id` for `rtype` (and
    for `name`, when given), complete (TC clear) and well formed throughout."""
    return _parse(message, query_id=query_id, rtype=rtype, name=name).names


def query_cname(
    server: str,
    name: str,
    *,
    timeout: float = 2.0,
    port: int = 53,
    send: Send | None = None,
    send_tcp: Send | None = None,
    require_authoritative: bool = True,
) -> str:
    """The CNAME target of `name`, asked of `server` (a host name or IP address, one of the zone's
    authoritative servers) with recursion not desired. The reply must be authoritative (AA set) unless
    `require_authoritative` is False. `send` and `send_tcp` replace the UDP and TCP exchanges."""
    reply = _ask(
        server,
        port,
        name,
        TYPE_CNAME,
        recursion_desired=False,
        timeout=timeout,
        send=send or udp_exchange,
        send_tcp=send_tcp or tcp_exchange,
    )
    if require_authoritative and not reply.authoritative:
        raise DnsQueryFailed(f"{server} answered for {name} CNAME without authority (AA clear)")
    targets = list(dict.fromkeys(reply.names))
    if not targets:
        raise DnsQueryFailed(f"{server} has no CNAME for {name} in its answer")
    if len(targets) > 1:
        # RFC 2181 10.1: a name has at most one CNAME.
        raise DnsQueryFailed(f"{server} answered several CNAMEs for {name}: {', '.join(targets)}")
    return targets[0]


def query_ns(
    resolver: str,
    zone: str,
    *,
    timeout: float = 2.0,
    port: int = 53,
    send: Send | None = None,
    send_tcp: Send | None = None,
) -> list[str]:
    """The names of `zone`'s name servers, sorted, asked of `resolver` (e.g. 1.1.1.1) with recursion
    desired. `send` and `send_tcp` replace the UDP and TCP exchanges."""
    reply = _ask(
        resolver,
        port,
        zone,
        TYPE_NS,
        recursion_desired=True,
        timeout=timeout,
        send=send or udp_exchange,
        send_tcp=send_tcp or tcp_exchange,
    )
    servers = sorted(set(reply.names))
    if not servers:
        raise DnsQueryFailed(f"{resolver} has no NS records for {zone} in its answer")
    return servers


def udp_exchange(query: bytes, host: str, port: int, timeout: float) -> bytes:
    """Send `query` in one UDP datagram and return the first datagram that comes back from there."""
    family, proto, address = _address(host, port, socket.SOCK_DGRAM)
    with socket.socket(family, socket.SOCK_DGRAM, proto) as sock:
        sock.settimeout(timeout)
        # A connected socket takes datagrams from that address only.
        sock.connect(address)
        sock.send(query)
        return sock.recv(_UDP_BUFFER)


def tcp_exchange(query: bytes, host: str, port: int, timeout: float) -> bytes:
    """Send `query` over TCP, each way preceded by its two-octet length; the whole exchange,
    connection included, takes at most `timeout`."""
    deadline = time.monotonic() + timeout
    family, proto, address = _address(host, port, socket.SOCK_STREAM)
    with socket.socket(family, socket.SOCK_STREAM, proto) as sock:
        sock.settimeout(_remaining(deadline))
        sock.connect(address)
        sock.settimeout(_remaining(deadline))
        sock.sendall(_TCP_LENGTH.pack(len(query)) + query)
        (length,) = _TCP_LENGTH.unpack(_receive(sock, _TCP_LENGTH.size, deadline))
        return _receive(sock, length, deadline)


@dataclass(frozen=True)
class _Reply:
    authoritative: bool
    names: list[str]


def _ask(
    server: str,
    port: int,
    name: str,
    rtype: int,
    *,
    recursion_desired: bool,
    timeout: float,
    send: Send,
    send_tcp: Send,
) -> _Reply:
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, not {timeout}")
    query_id = secrets.randbits(16)
    query = build_query(name, rtype, query_id=query_id, recursion_desired=recursion_desired)
    reply = _exchange(send, "UDP", query, server, port, timeout, name)
    if _truncated(reply, query_id):
        reply = _exchange(send_tcp, "TCP", query, server, port, timeout, name)
    return _parse(reply, query_id=query_id, rtype=rtype, name=name)


def _exchange(
    send: Send, transport: str, query: bytes, server: str, port: int, timeout: float, name: str
) -> bytes:
    try:
        return send(query, server, port, timeout)
    except TimeoutError as exc:
        raise DnsQueryFailed(
            f"no answer from {server} port {port} ({transport}) for {name} within {timeout} s"
        ) from exc
    except (OSError, UnicodeError) as exc:
        raise DnsQueryFailed(f"asking {server} port {port} ({transport}) for {name} failed: {exc!r}") from exc


def _truncated(reply: bytes, query_id: int) -> bool:
    """TC is set in a reply to this query (a reply to another query is rejected when parsed)."""
    if len(reply) < _HEADER.size:
        return False
    reply_id, flags = struct.unpack_from("!2H", reply)
    return reply_id == query_id and bool(flags & _QR) and bool(flags & _TC)


def _parse(message: bytes, *, query_id: int, rtype: int, name: str | None) -> _Reply:
    if rtype not in _NAME_TYPES:
        raise ValueError(f"record type {rtype} has no domain name as its RDATA")
    if len(message) < _HEADER.size:
        raise DnsQueryFailed(f"malformed reply: {len(message)} octets, shorter than a header")
    reply_id, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(message)
    if reply_id != query_id:
        raise DnsQueryFailed(f"reply id {reply_id} does not match query id {query_id}")
    if not flags & _QR:
        raise DnsQueryFailed("not a reply: QR is clear")
    if flags & _OPCODE_MASK:
        raise DnsQueryFailed(f"reply opcode {(flags & _OPCODE_MASK) >> 11} is not QUERY")
    if flags & _TC:
        raise DnsQueryFailed("truncated reply (TC set): no usable answer (RFC 2181 section 9)")
    rcode = flags & _RCODE_MASK
    if rcode:
        rcode_name = RCODE_NAMES.get(rcode, f"RCODE {rcode}")
        raise DnsQueryFailed(f"server answered {rcode_name}", rcode=rcode_name)
    if qdcount != 1:
        raise DnsQueryFailed(f"malformed reply: {qdcount} questions, not 1")
    owner, offset = _read_name(message, _HEADER.size)
    qtype, qclass = _unpack(_QUESTION_TAIL, message, offset)
    offset += _QUESTION_TAIL.size
    if (qtype, qclass) != (rtype, CLASS_IN):
        raise DnsQueryFailed(f"reply is for type {qtype} class {qclass}, not type {rtype} class IN")
    if name is not None and owner != _canonical(name):
        raise DnsQueryFailed(f"reply is for {owner}, not {_canonical(name)}")
    names: list[str] = []
    for index in range(ancount + nscount + arcount):
        record_owner, offset = _read_name(message, offset)
        record_type, record_class, _ttl, rdlength = _unpack(_RECORD_TAIL, message, offset)
        rdata = offset + _RECORD_TAIL.size
        offset = rdata + rdlength
        if offset > len(message):
            raise DnsQueryFailed("malformed reply: a record's data runs past the end")
        if index < ancount and (record_type, record_class, record_owner) == (rtype, CLASS_IN, owner):
            target, end = _read_name(message, rdata)
            if end != offset:
                raise DnsQueryFailed("malformed reply: a record's name does not fill its data")
            names.append(target)
    return _Reply(authoritative=bool(flags & _AA), names=names)


def _read_name(message: bytes, offset: int) -> tuple[str, int]:
    """The name at `offset` (lower-case, ending with '.') and the offset just after it there.

    Each compression pointer must point before the previous one (or before the name's start), so
    reading ends: a loop or a forward pointer is malformed."""
    labels: list[str] = []
    wire_length = 1
    end: int | None = None
    limit = offset
    while True:
        if offset >= len(message):
            raise DnsQueryFailed("malformed reply: a name runs past the end")
        length = message[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(message):
                raise DnsQueryFailed("malformed reply: a compression pointer runs past the end")
            pointer = (length & 0x3F) << 8 | message[offset + 1]
            if pointer >= limit:
                raise DnsQueryFailed(f"malformed reply: compression pointer at {offset} does not point back")
            if end is None:
                end = offset + 2
            offset = limit = pointer
        elif length & 0xC0:
            raise DnsQueryFailed(f"malformed reply: unknown label type {length >> 6:#04b} at {offset}")
        elif length == 0:
            text = ".".join(labels) + "."
            return text, offset + 1 if end is None else end
        else:
            label = message[offset + 1 : offset + 1 + length]
            if len(label) != length:
                raise DnsQueryFailed("malformed reply: a label runs past the end")
            wire_length += 1 + length
            if wire_length > _MAX_NAME:
                raise DnsQueryFailed(f"malformed reply: a name longer than {_MAX_NAME} octets")
            labels.append(_label_text(label.lower()))
            offset += 1 + length


def _label_text(label: bytes) -> str:
    """A label as text: printable ASCII as is, other octets and '.' or '\\' as \\DDD (RFC 1035 5.1)."""
    return "".join(
        chr(octet) if 0x21 <= octet <= 0x7E and octet not in b".\\" else f"\\{octet:03d}" for octet in label
    )


def _canonical(name: str) -> str:
    return _read_name(encode_name(name), 0)[0]


def _unpack(layout: struct.Struct, message: bytes, offset: int) -> tuple[int, ...]:
    if offset + layout.size > len(message):
        raise DnsQueryFailed("malformed reply: it ends inside a question or record")
    return layout.unpack_from(message, offset)


def _address(
    host: str, port: int, kind: socket.SocketKind
) -> tuple[socket.AddressFamily, int, tuple[object, ...]]:
    infos = socket.getaddrinfo(host, port, type=kind)
    # IPv4 first: a Lambda function outside a VPC has no IPv6 route.
    family, _, proto, _, address = min(infos, key=lambda info: info[0] != socket.AF_INET)
    return family, proto, tuple(address)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("DNS exchange deadline passed")
    return left


def _receive(sock: socket.socket, count: int, deadline: float) -> bytes:
    data = bytearray()
    while len(data) < count:
        sock.settimeout(_remaining(deadline))
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise DnsQueryFailed(f"TCP connection closed after {len(data)} of {count} octets")
        data += chunk
    return bytes(data)
