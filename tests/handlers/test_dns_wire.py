"""The game-day function's DNS client (lambda/game_day/dns_wire.py), checked against dnspython.

The Lambda function has the standard library only, so it writes and reads DNS messages itself. Here
dnspython, an independent implementation present in the dev environment only, reads the queries it
builds and writes the replies it parses (compressed, as servers send them); hand-made bytes stand in
for the malformed replies no library would write. Real sockets on 127.0.0.1 prove the UDP and TCP
exchanges and the timeout.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from tests.handlers.loader import load_handler

NAME = "api.example.com"
TARGET = "api-us-west-2.example.com."
ZONE = "example.com"
NAME_SERVERS = [
    "ns-1536.awsdns-00.co.uk.",
    "ns-0.awsdns-00.com.",
    "ns-1024.awsdns-00.org.",
    "ns-512.awsdns-00.net.",
]
QUERY_ID = 0x1234
SERVER = "ns-0.awsdns-00.com"
RRSIG = "CNAME 13 3 300 20300101000000 20200101000000 12345 example.com. " + "A" * 86 + "=="


@pytest.fixture(scope="module")
def dns_wire() -> ModuleType:
    return load_handler("game_day", "dns_wire")


def query_for(
    dns_wire: ModuleType, name: str, rtype: int, *, query_id: int = QUERY_ID
) -> dns.message.Message:
    wire = dns_wire.build_query(name, rtype, query_id=query_id, recursion_desired=rtype == dns_wire.TYPE_NS)
    return dns.message.from_wire(wire)


def reply_to(
    query: dns.message.Message,
    records: Sequence[tuple[str, str, str]] = (),
    *,
    rcode: dns.rcode.Rcode = dns.rcode.NOERROR,
    authoritative: bool = True,
    truncated: bool = False,
) -> bytes:
    """dnspython's reply to `query`: answer records as (owner, type, rdata text), compressed."""
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    if authoritative:
        response.flags |= dns.flags.AA
    if truncated:
        response.flags |= dns.flags.TC
    for owner, rdtype, text in records:
        response.answer.append(dns.rrset.from_text(owner, 300, "IN", rdtype, text))
    return response.to_wire()


def cname_reply(query_wire: bytes, *, authoritative: bool = True) -> bytes:
    """dnspython's reply to the query in `query_wire`: its name is a CNAME for TARGET."""
    query = dns.message.from_wire(query_wire)
    return reply_to(query, [(query.question[0].name.to_text(), "CNAME", TARGET)], authoritative=authoritative)


@dataclass
class FakeSend:
    """A `send` that answers each query with reply(query) and keeps what it was given."""

    reply: Callable[[bytes], bytes]
    calls: list[tuple[bytes, str, int, float]] = field(default_factory=list)

    def __call__(self, query: bytes, host: str, port: int, timeout: float) -> bytes:
        self.calls.append((query, host, port, timeout))
        return self.reply(query)


def never_called(query: bytes, host: str, port: int, timeout: float) -> bytes:
    raise AssertionError("TCP was used without a truncated reply")


# --- build_query ---------------------------------------------------------------------------------


def test_build_query_is_a_standard_query_for_the_name_type_and_id(dns_wire: ModuleType) -> None:
    # Given a name, a type and an id
    # When the query is built and dnspython reads it
    query = dns.message.from_wire(
        dns_wire.build_query(NAME, dns_wire.TYPE_CNAME, query_id=QUERY_ID, recursion_desired=False)
    )
    # Then it is one IN question for that name and type, under that id, opcode QUERY, not a reply
    assert query.id == QUERY_ID
    assert [(q.name, q.rdtype, q.rdclass) for q in query.question] == [
        (dns.name.from_text(NAME), dns.rdatatype.CNAME, dns.rdataclass.IN)
    ]
    assert dns.opcode.from_flags(query.flags) == dns.opcode.QUERY
    assert not query.flags & dns.flags.QR
    assert (query.answer, query.authority, query.additional) == ([], [], [])


@pytest.mark.parametrize("recursion_desired", [True, False])
def test_build_query_sets_rd_only_when_recursion_is_desired(
    dns_wire: ModuleType, recursion_desired: bool
) -> None:
    # Given a query with or without recursion desired
    wire = dns_wire.build_query(ZONE, dns_wire.TYPE_NS, query_id=1, recursion_desired=recursion_desired)
    # When dnspython reads it
    query = dns.message.from_wire(wire)
    # Then RD is set exactly when recursion is desired
    assert bool(query.flags & dns.flags.RD) is recursion_desired


def test_build_query_treats_a_trailing_dot_as_the_same_name(dns_wire: ModuleType) -> None:
    # Given the same name with and without its trailing dot
    # When queries are built for both
    # Then they are the same bytes
    assert dns_wire.build_query(
        NAME, dns_wire.TYPE_CNAME, query_id=7, recursion_desired=False
    ) == dns_wire.build_query(NAME + ".", dns_wire.TYPE_CNAME, query_id=7, recursion_desired=False)


def test_build_query_accepts_a_63_octet_label_and_rejects_a_64_octet_one(dns_wire: ModuleType) -> None:
    # Given labels at and just past RFC 1035's 63-octet limit
    # When queries are built
    dns_wire.build_query("a" * 63 + ".example.com", dns_wire.TYPE_CNAME, query_id=1, recursion_desired=False)
    # Then only the longer label is refused
    with pytest.raises(ValueError, match="64 octets"):
        dns_wire.build_query(
            "a" * 64 + ".example.com", dns_wire.TYPE_CNAME, query_id=1, recursion_desired=False
        )


def test_build_query_accepts_a_255_octet_name_and_rejects_a_longer_one(dns_wire: ModuleType) -> None:
    # Given names of 255 and 257 octets in wire format (four labels of 62 or 63 octets, plus a short one)
    longest = ".".join(["a" * 63] * 3 + ["a" * 61])
    too_long = ".".join(["a" * 63] * 3 + ["a" * 63])
    # When queries are built
    wire = dns_wire.build_query(longest, dns_wire.TYPE_CNAME, query_id=1, recursion_desired=False)
    # Then the 255-octet name is accepted, and read back by dnspython, and the longer one refused
    assert dns.message.from_wire(wire).question[0].name == dns.name.from_text(longest)
    with pytest.raises(ValueError, match="257 octets"):
        dns_wire.build_query(too_long, dns_wire.TYPE_CNAME, query_id=1, recursion_desired=False)


@pytest.mark.parametrize("name", ["", "api..example.com", ".example.com", "bücher.example"])
def test_build_query_rejects_names_that_are_not_plain_domain_names(dns_wire: ModuleType, name: str) -> None:
    # Given an empty name, an empty label or a non-ASCII label
    # When a query is built
    # Then it is refused
    with pytest.raises(ValueError):
        dns_wire.build_query(name, dns_wire.TYPE_CNAME, query_id=1, recursion_desired=False)


# --- parse_answer ---------------------------------------------------------------------------------


def test_parse_answer_reads_a_compressed_cname_target(dns_wire: ModuleType) -> None:
    # Given dnspython's reply with a CNAME, its names compressed against the question
    query = query_for(dns_wire, NAME, dns_wire.TYPE_CNAME)
    reply = reply_to(query, [(NAME + ".", "CNAME", TARGET)])
    assert b"\xc0\x0c" in reply, "the owner name should be a pointer to the question's name"
    # When the answer is parsed
    names = dns_wire.parse_answer(reply, query_id=QUERY_ID, rtype=dns_wire.TYPE_CNAME)
    # Then it is the target, fully expanded
    assert names == [TARGET]


def test_parse_answer_returns_names_in_lower_case(dns_wire: ModuleType) -> None:
    # Given a reply whose target is written in mixed case
    query = query_for(dns_wire, NAME, dns_wire.TYPE_CNAME)
    reply = reply_to(query, [(NAME + ".", "CNAME", "API-US-West-2.Example.COM.")])
    # When the answer is parsed
    # Then the target is lower-case
    assert dns_wire.parse_answer(reply, query_id=QUERY_ID, rtype=dns_wire.TYPE_CNAME) == [TARGET]


def test_parse_answer_reads_every_ns_record(dns_wire: ModuleType) -> None:
    # Given a reply with a zone's four NS records
    query = query_for(dns_wire, ZONE, dns_wire.TYPE_NS)
    reply = reply_to(query, [(ZONE + ".", "NS", server) for server in NAME_SERVERS])
    # When the answer is parsed
    names = dns_wire.parse_answer(reply, query_id=QUERY_ID, rtype=dns_wire.TYPE_NS)
    # Then every name server is there
    assert sorted(names) == sorted(NAME_SERVERS)


def test_parse_answer_skips_other_record_types(dns_wire: ModuleType) -> None:
    # Given a signed reply: the CNAME, its RRSIG and the target's A record (a CNAME chain)
    query = query_for(dns_wire, NAME, dns_wire.TYPE_CNAME)
    reply = reply_to(
        query,
        [(NAME + ".", "RRSIG", RRSIG), (NAME + ".", "CNAME", TARGET), (TARGET, "A", "192.0.2.10")],
    )
    # When the answer is parsed
    names = dns_wire.parse_answer(reply, query_id=QUERY_ID, rtype=dns_wire.TYPE_CNAME)
    # Then only the CNAME's target is returned
    assert names == [TARGET]


def test_parse_answer_skips_records_owned_by_another_name(dns_wire: ModuleType) -> None:
    # Given a resolver's reply for a name that is itself a CNAME: the CNAME, then the target's NS records
    query = query_for(dns_wire, "www.example.com", dns_wire.TYPE_NS)
    reply = reply_to(
        query,
        [("www.example.com.", "CNAME", "example.net.")] + [("example.net.", "NS", s) for s in NAME_SERVERS],
    )
    # When the NS answer is parsed
    # Then nothing is returned: those NS records are not www.example.com's
    assert dns_wire.parse_answer(reply, query_id=QUERY_ID, rtype=dns_wire.TYPE_NS) == []


@pytest.mark.parametrize("rcode", [dns.rcode.NXDOMAIN, dns.rcode.SERVFAIL, dns.rcode.REFUSED])
def test_parse_answer_raises_naming_an_error_rcode(dns_wire: ModuleType, rcode: dns.rcode.Rcode) -> None:
    # Given a reply with an error RCODE
    reply = reply_to(query_for(dns_wire, NAME, dns_wire.TYPE_CNAME), rcode=rcode)
    # When it is parsed
    # Then it fails, naming the RCODE
    with pytest.raises(dns_wire.DnsQueryFailed, match=rcode.name) as failure:
        dns_wire.parse_answer(reply, query_id=QUERY_ID, rtype=dns_wire.TYPE_CNAME)
    assert failure.value.rcode == rcode.name


def test_parse_answer_raises_when_the_id_is_not_the_query_id(dns_wire: ModuleType) -> None:
    # Given a good reply to query 0x1234
    reply = cname_reply(
        dns_wire.build_query(NAME, dns_wire.TYPE_CNAME, query_id=QUERY_ID, recursion_desired=False)
    )
    # When it is parsed as the reply to another query
    # Then it is refused
    with pytest.raises(dns_wire.DnsQueryFailed, match="does not match"):
        dns_wire.parse_answer(reply, query_id=QUERY_ID + 1, rtype=dns_wire.TYPE_CNAME)


def test_parse_answer_raises_when_qr_is_clear(dns_wire: ModuleType) -> None:
    # Given a query (QR clear), e.g. a packet reflected back
    query = dns_wire.build_query(NAME, dns_wire.TYPE_CNAME, query_id=QUERY_ID, recursion_desired=False)
    # When it is parsed as a reply
    # Then it is refused
    with pytest.raises(dns_wire.DnsQueryFailed, match="QR"):
        dns_wire.parse_answer(query, query_id=QUERY_ID, rtype=dns_wire.TYPE_CNAME)


def test_parse_answer_raises_when_the_question_is_for_another_type(dns_wire: ModuleType) -> None:
    # Given a reply to an A question
    reply = reply_to(query_for(dns_wire, NAME, dns_wire.TYPE_A), [(NAME + ".", "A", "192.0.2.10")])
    # When it is parsed as the reply to a CNAME question
    # Then it is refused
    with pytest.raises(dns_wire.DnsQueryFailed, match="type 1"):
        dns_wire.parse_answer(reply, query_id=QUERY_ID, rtype=dns_wire.TYPE_CNAME)


def test_parse_answer_raises_when_the_question_is_for_another_name(dns_wire: ModuleType) -> None:
    # Given a reply about another name
    reply = cname_reply(
        dns_wire.build_query("web.example.com", 5, query_id=QUERY_ID, recursion_desired=False)
    )
    # When it is parsed as the reply for api.example.com
    # Then it is refused
    with pytest.raises(dns_wire.DnsQueryFailed, match=re.escape("web.example.com.")):
        dns_wire.parse_answer(reply, query_id=QUERY_ID, rtype=dns_wire.TYPE_CNAME, name=NAME)


def test_parse_answer_raises_on_a_truncated_reply(dns_wire: ModuleType) -> None:
    # Given a reply with TC set and no answer, as a server sends when the answer does not fit
    reply = reply_to(query_for(dns_wire, NAME, dns_wire.TYPE_CNAME), truncated=True)
    # When it is parsed
    # Then it is no answer (RFC 2181 section 9: ask again over TCP)
    with pytest.raises(dns_wire.DnsQueryFailed, match="TC"):
        dns_wire.parse_answer(reply, query_id=QUERY_ID, rtype=dns_wire.TYPE_CNAME)


def test_parse_answer_raises_on_every_cut_short_reply(dns_wire: ModuleType) -> None:
    # Given a signed CNAME reply, and every prefix of it
    query = query_for(dns_wire, NAME, dns_wire.TYPE_CNAME)
    reply = reply_to(query, [(NAME + ".", "CNAME", TARGET), (NAME + ".", "RRSIG", RRSIG)])
    assert dns_wire.parse_answer(reply, query_id=QUERY_ID, rtype=dns_wire.TYPE_CNAME) == [TARGET]
    for length in range(len(reply)):
        # When the cut-short bytes are parsed
        # Then each is malformed: DnsQueryFailed, never IndexError or struct.error
        with pytest.raises(dns_wire.DnsQueryFailed):
            dns_wire.parse_answer(reply[:length], query_id=QUERY_ID, rtype=dns_wire.TYPE_CNAME)


def crafted_reply(question_name: bytes, target: Callable[[int], bytes]) -> bytes:
    """A reply (QR, AA) with one question and one CNAME record owned by it; target(offset) is the
    RDATA, given the offset where it starts."""
    header = struct.pack("!6H", QUERY_ID, 0x8400, 1, 1, 0, 0)
    question = question_name + struct.pack("!2H", 5, 1)
    rdata_offset = len(header) + len(question) + 2 + 10
    rdata = target(rdata_offset)
    record = b"\xc0\x0c" + struct.pack("!2HIH", 5, 1, 300, len(rdata)) + rdata
    return header + question + record


API = b"\x03api\x07example\x03com\x00"


@pytest.mark.parametrize(
    "reply",
    [
        # The question's name is a pointer to itself.
        crafted_reply(b"\xc0\x0c", lambda at: API),
        # The target is a label, then a pointer back to that label: a.a.a.a...
        crafted_reply(API, lambda at: b"\x01a" + struct.pack("!H", 0xC000 | at)),
        # The target points forward to a pointer that points back to the target.
        crafted_reply(API, lambda at: struct.pack("!2H", 0xC000 | (at + 2), 0xC000 | at)),
        # The target is a pointer to itself.
        crafted_reply(API, lambda at: struct.pack("!H", 0xC000 | at)),
    ],
    ids=["question-self", "label-then-back", "forward-and-back", "target-self"],
)
def test_parse_answer_raises_on_a_compression_pointer_loop(dns_wire: ModuleType, reply: bytes) -> None:
    # Given a reply whose name compression loops
    # When it is parsed
    # Then it is malformed: DnsQueryFailed, never RecursionError, IndexError or an endless loop
    with pytest.raises(dns_wire.DnsQueryFailed, match="pointer"):
        dns_wire.parse_answer(reply, query_id=QUERY_ID, rtype=dns_wire.TYPE_CNAME)


def test_parse_answer_reads_the_hand_crafted_reply_without_a_loop(dns_wire: ModuleType) -> None:
    # Given the loop tests' hand-made reply with a well-formed target (a pointer back to the question)
    reply = crafted_reply(API, lambda at: b"\x04edge\xc0\x0c")
    # When it is parsed
    # Then the target is read, showing the loop cases fail for their pointers alone
    assert dns_wire.parse_answer(reply, query_id=QUERY_ID, rtype=dns_wire.TYPE_CNAME) == [
        "edge.api.example.com."
    ]


# --- query_cname and query_ns with injected exchanges ---------------------------------------------


def test_query_cname_asks_the_server_without_recursion(dns_wire: ModuleType) -> None:
    # Given an authoritative server that answers with the CNAME
    send = FakeSend(cname_reply)
    # When the CNAME is asked for
    target = dns_wire.query_cname(SERVER, NAME, timeout=1.5, port=5353, send=send, send_tcp=never_called)
    # Then one CNAME question for the name went to that server and port, RD clear, and the target came back
    assert target == TARGET
    [(wire, host, port, timeout)] = send.calls
    query = dns.message.from_wire(wire)
    assert (host, port, timeout) == (SERVER, 5353, 1.5)
    assert (query.question[0].name, query.question[0].rdtype) == (
        dns.name.from_text(NAME),
        dns.rdatatype.CNAME,
    )
    assert not query.flags & dns.flags.RD


def test_query_cname_uses_a_random_id_for_each_query(
    dns_wire: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given secrets.randbits handing out 0xBEEF, then 0xCAFE
    ids = iter([0xBEEF, 0xCAFE])
    bits: list[int] = []

    def randbits(k: int) -> int:
        bits.append(k)
        return next(ids)

    monkeypatch.setattr(dns_wire.secrets, "randbits", randbits)
    send = FakeSend(cname_reply)
    # When two queries are made
    for _ in range(2):
        dns_wire.query_cname(SERVER, NAME, send=send, send_tcp=never_called)
    # Then each took a fresh 16-bit id
    assert bits == [16, 16]
    assert [dns.message.from_wire(wire).id for wire, *_ in send.calls] == [0xBEEF, 0xCAFE]


def test_query_cname_asks_again_over_tcp_when_the_udp_reply_is_truncated(dns_wire: ModuleType) -> None:
    # Given a server whose UDP reply is truncated and whose TCP reply is whole
    udp = FakeSend(lambda query: reply_to(dns.message.from_wire(query), truncated=True))
    tcp = FakeSend(cname_reply)
    # When the CNAME is asked for
    target = dns_wire.query_cname(SERVER, NAME, timeout=1.0, send=udp, send_tcp=tcp)
    # Then the same query went over TCP to the same server, and its answer was used
    assert target == TARGET
    assert [call[0] for call in tcp.calls] == [call[0] for call in udp.calls]
    assert tcp.calls[0][1:] == (SERVER, 53, 1.0)


def test_query_cname_raises_when_the_tcp_reply_is_truncated_too(dns_wire: ModuleType) -> None:
    # Given a server whose UDP and TCP replies both have TC set
    truncated = FakeSend(lambda query: reply_to(dns.message.from_wire(query), truncated=True))
    # When the CNAME is asked for
    # Then there is no usable answer
    with pytest.raises(dns_wire.DnsQueryFailed, match="truncated"):
        dns_wire.query_cname(SERVER, NAME, send=truncated, send_tcp=truncated)


def test_query_cname_raises_when_the_answer_is_not_authoritative(dns_wire: ModuleType) -> None:
    # Given a server that answers from its cache (AA clear), e.g. a resolver given by mistake
    send = FakeSend(lambda query: cname_reply(query, authoritative=False))
    # When the CNAME is asked for
    # Then the answer is refused: it may be a cached, stale target
    with pytest.raises(dns_wire.DnsQueryFailed, match="AA"):
        dns_wire.query_cname(SERVER, NAME, send=send, send_tcp=never_called)


def test_query_cname_raises_when_the_name_has_no_cname(dns_wire: ModuleType) -> None:
    # Given an authoritative NOERROR reply with an empty answer (the name has other records only)
    send = FakeSend(lambda query: reply_to(dns.message.from_wire(query)))
    # When the CNAME is asked for
    # Then it fails, saying there is no CNAME
    with pytest.raises(dns_wire.DnsQueryFailed, match="no CNAME"):
        dns_wire.query_cname(SERVER, NAME, send=send, send_tcp=never_called)


def test_query_cname_raises_when_the_reply_is_about_another_name(dns_wire: ModuleType) -> None:
    # Given a server whose reply is for another question than the one asked
    other = dns_wire.build_query("web.example.com", dns_wire.TYPE_CNAME, query_id=0, recursion_desired=False)
    send = FakeSend(lambda query: cname_reply(query[:2] + other[2:]))
    # When the CNAME is asked for
    # Then the reply is refused although its id matches
    with pytest.raises(dns_wire.DnsQueryFailed, match=re.escape("not api.example.com.")):
        dns_wire.query_cname(SERVER, NAME, send=send, send_tcp=never_called)


def test_query_cname_wraps_a_socket_error(dns_wire: ModuleType) -> None:
    # Given an exchange that fails as a socket does (ICMP port unreachable)
    def refused(query: bytes, host: str, port: int, timeout: float) -> bytes:
        raise ConnectionRefusedError(111, "Connection refused")

    # When the CNAME is asked for
    # Then the failure is a DnsQueryFailed naming the server, with the socket error as its cause
    with pytest.raises(dns_wire.DnsQueryFailed, match=re.escape(SERVER)) as failure:
        dns_wire.query_cname(SERVER, NAME, send=refused, send_tcp=never_called)
    assert isinstance(failure.value.__cause__, ConnectionRefusedError)


def test_query_ns_asks_with_recursion_and_returns_the_names_sorted(dns_wire: ModuleType) -> None:
    # Given a resolver that answers with the zone's NS records (not authoritative: it is a resolver)
    send = FakeSend(
        lambda query: reply_to(
            dns.message.from_wire(query),
            [(ZONE + ".", "NS", server.upper()) for server in NAME_SERVERS],
            authoritative=False,
        )
    )
    # When the zone's name servers are asked for
    servers = dns_wire.query_ns("1.1.1.1", ZONE, send=send, send_tcp=never_called)
    # Then one recursive NS question went to the resolver, and the names came back lower-case and sorted
    assert servers == sorted(NAME_SERVERS)
    [(wire, host, port, _)] = send.calls
    query = dns.message.from_wire(wire)
    assert (host, port) == ("1.1.1.1", 53)
    assert (query.question[0].name, query.question[0].rdtype) == (dns.name.from_text(ZONE), dns.rdatatype.NS)
    assert query.flags & dns.flags.RD


def test_query_ns_raises_when_the_answer_has_no_ns_records(dns_wire: ModuleType) -> None:
    # Given a resolver's NOERROR reply with no NS records (the name is not a zone's apex)
    send = FakeSend(lambda query: reply_to(dns.message.from_wire(query), authoritative=False))
    # When the zone's name servers are asked for
    # Then it fails, saying there are none
    with pytest.raises(dns_wire.DnsQueryFailed, match="no NS"):
        dns_wire.query_ns("1.1.1.1", "www.example.com", send=send, send_tcp=never_called)


# --- real sockets on 127.0.0.1 ---------------------------------------------------------------------


@pytest.fixture
def udp_server() -> Iterator[tuple[socket.socket, list[bytes]]]:
    """A UDP socket on 127.0.0.1 and the queries a server thread answered on it, if one is started."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock, []
    finally:
        sock.close()


def serve_udp_once(
    sock: socket.socket, seen: list[bytes], answer: Callable[[bytes], bytes]
) -> threading.Thread:
    def run() -> None:
        query, client = sock.recvfrom(65535)
        seen.append(query)
        sock.sendto(answer(query), client)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_query_cname_round_trip_over_udp(
    dns_wire: ModuleType, udp_server: tuple[socket.socket, list[bytes]]
) -> None:
    # Given an authoritative server on 127.0.0.1 answering with dnspython's reply
    sock, seen = udp_server
    thread = serve_udp_once(sock, seen, cname_reply)
    # When the CNAME is asked for over a real socket
    target = dns_wire.query_cname("127.0.0.1", NAME, timeout=2.0, port=sock.getsockname()[1])
    # Then the server got one non-recursive CNAME question, and its target came back
    thread.join(timeout=2.0)
    assert target == TARGET
    [query] = [dns.message.from_wire(wire) for wire in seen]
    assert query.question[0].name == dns.name.from_text(NAME)
    assert not query.flags & dns.flags.RD


def receive_exactly(connection: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        assert chunk, "the client closed the connection early"
        data += chunk
    return data


def test_query_cname_round_trip_over_tcp_after_a_truncated_udp_reply(
    dns_wire: ModuleType, udp_server: tuple[socket.socket, list[bytes]]
) -> None:
    # Given a server on one port of 127.0.0.1: UDP replies truncated, TCP answers whole
    sock, seen = udp_server
    port = sock.getsockname()[1]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError:
        listener.close()
        pytest.skip(f"TCP port {port} is taken")
    listener.listen(1)
    udp_thread = serve_udp_once(
        sock, seen, lambda query: reply_to(dns.message.from_wire(query), truncated=True)
    )
    tcp_seen: list[bytes] = []

    def serve_tcp() -> None:
        connection, _ = listener.accept()
        with connection:
            (length,) = struct.unpack("!H", receive_exactly(connection, 2))
            query = receive_exactly(connection, length)
            tcp_seen.append(query)
            reply = cname_reply(query)
            # Two writes: the client must read the length and then the message, however they arrive.
            connection.sendall(struct.pack("!H", len(reply)))
            time.sleep(0.05)
            connection.sendall(reply)

    tcp_thread = threading.Thread(target=serve_tcp, daemon=True)
    tcp_thread.start()
    try:
        # When the CNAME is asked for with the default exchanges
        target = dns_wire.query_cname("127.0.0.1", NAME, timeout=2.0, port=port)
    finally:
        udp_thread.join(timeout=2.0)
        tcp_thread.join(timeout=2.0)
        listener.close()
    # Then the same query went over UDP and then TCP, and the TCP answer was used
    assert target == TARGET
    assert tcp_seen == seen


def test_query_cname_times_out_when_the_server_never_answers(
    dns_wire: ModuleType, udp_server: tuple[socket.socket, list[bytes]]
) -> None:
    # Given a UDP socket on 127.0.0.1 that never answers
    sock, _ = udp_server
    started = time.monotonic()
    # When the CNAME is asked for with a 0.2 s timeout
    # Then it fails as a timeout, soon after 0.2 s
    with pytest.raises(dns_wire.DnsQueryFailed, match="no answer") as failure:
        dns_wire.query_cname("127.0.0.1", NAME, timeout=0.2, port=sock.getsockname()[1])
    elapsed = time.monotonic() - started
    assert isinstance(failure.value.__cause__, TimeoutError)
    assert 0.2 <= elapsed < 1.0
