"""Security profiles: 1 (Basic over ws), 2 (TLS + Basic), 3 (TLS client certificate, CN = charger
id). Chargers not in the credentials file are refused."""

import base64
import os
import shutil
import socket
import ssl
import time
from pathlib import Path

import pytest

from testkit import (basic_auth, connect, eventually, hash_password, raw_call, run, upgrade_status,
                     wait_until)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def secured(deployment, tls, tmp_path):
    """A pod with TLS, a credentials file of one charger per profile, unknown chargers refused."""
    hashed = hash_password(PASSWORD)
    credentials = tmp_path / "credentials.csv"
    credentials.write_text("\n".join([
        "# charger_id,security_profile,password_hash",
        f"p1-charger,1,{hashed}",
        f"p2-charger,2,{hashed}",
        "p3-charger,3,",
        "p3-other,3,",
        "",
    ]))
    return deployment.start_gateway("a", credentials_file=credentials,
                                    unknown_charger_profile=-1, **tls.gateway_flags())


def opened_profile(deployment, charger_id):
    event = deployment.events(charger_id, count=1)[0]
    return event["connection_opened"].get("security_profile", 0)


async def heartbeat_over(url, **kwargs):
    async with connect(url, **kwargs) as ws:
        assert (await raw_call(ws, "Heartbeat", {}))[0] == 3


# -- profile 1 ------------------------------------------------------------------------------

def test_profile_1_accepts_the_right_password_over_plain_websocket(secured, deployment):
    run(heartbeat_over(secured.ws_url("p1-charger"),
                       extra_headers=basic_auth("p1-charger", PASSWORD)))
    assert opened_profile(deployment, "p1-charger") == 1


@pytest.mark.parametrize("headers", [
    basic_auth("p1-charger", "wrong"),
    basic_auth("p1-charger", ""),
    basic_auth("someone-else", PASSWORD),
    {"Authorization": "Bearer abc"},
    {},
], ids=["wrong_password", "empty_password", "other_user", "not_basic", "no_header"])
def test_profile_1_refuses_wrong_credentials_with_401(secured, headers):
    assert upgrade_status(secured.ws_port, "/ocpp/p1-charger", headers) == 401


def test_profile_1_charger_is_refused_over_tls(secured, tls):
    assert upgrade_status(secured.wss_port, "/ocpp/p1-charger", basic_auth("p1-charger", PASSWORD),
                          tls_context=tls.client_context()) == 401


# -- profile 2 ------------------------------------------------------------------------------

def test_profile_2_accepts_the_right_password_over_tls(secured, deployment, tls):
    run(heartbeat_over(secured.ws_url("p2-charger", tls=True), ssl=tls.client_context(),
                       extra_headers=basic_auth("p2-charger", PASSWORD)))
    assert opened_profile(deployment, "p2-charger") == 2


def test_profile_2_refuses_a_wrong_password_with_401(secured, tls):
    assert upgrade_status(secured.wss_port, "/ocpp/p2-charger", basic_auth("p2-charger", "nope"),
                          tls_context=tls.client_context()) == 401
    assert secured.metric("switchyard_gateway_handshakes_refused_total",
                          reason="unauthorized") == 1


def test_profile_2_charger_is_refused_over_plain_websocket(secured):
    assert upgrade_status(secured.ws_port, "/ocpp/p2-charger",
                          basic_auth("p2-charger", PASSWORD)) == 401
    assert secured.metric("switchyard_gateway_handshakes_refused_total",
                          reason="wrong_security_profile") == 1


# -- the suites OCPP asks for ----------------------------------------------------------------

# TLS 1.2 suites a CSMS must offer (OCPP security profiles 2 and 3), by their OpenSSL names.
OCPP_SUITES = {"ECDSA": ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"],
               "RSA": ["AES128-GCM-SHA256", "AES256-GCM-SHA384"]}


def tls12_context(tls, suite):
    """A TLS 1.2 client offering only `suite`."""
    context = tls.client_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(suite)
    return context


def negotiated_suite(port, context):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as wrapped:
            return wrapped.cipher()[0]


def test_an_ecdsa_and_an_rsa_certificate_together_offer_every_ocpp_suite(deployment, tls,
                                                                         tmp_path):
    """OCPP asks for TLS_ECDHE_ECDSA_* and TLS_RSA_* suites; each needs a certificate of its
    kind. With the second certificate every one of them connects and a profile 2 charger gets
    its Heartbeat answered over it."""
    rsa_certificate, rsa_key = tls.server("server-rsa", key="rsa")
    credentials = tmp_path / "credentials.csv"
    credentials.write_text(f"p2-charger,2,{hash_password(PASSWORD)}\n")
    gateway = deployment.start_gateway("a", credentials_file=credentials,
                                       unknown_charger_profile=-1,
                                       tls_second_certificate=rsa_certificate,
                                       tls_second_private_key=rsa_key, **tls.gateway_flags())
    for suite in OCPP_SUITES["ECDSA"] + OCPP_SUITES["RSA"]:
        context = tls12_context(tls, suite)
        assert negotiated_suite(gateway.wss_port, context) == suite
        run(heartbeat_over(gateway.ws_url("p2-charger", tls=True), ssl=context,
                           extra_headers=basic_auth("p2-charger", PASSWORD)))
    log = gateway.log()
    for key_type in ("ECDSA", "RSA"):
        assert f'"key_type":"{key_type}"' in log, log[-2000:]
    assert "server certificate: the OCPP suites that need one cannot be negotiated" not in log


def test_with_one_certificate_the_other_kind_of_suite_fails_and_the_log_says_why(secured, tls):
    for suite in OCPP_SUITES["ECDSA"]:
        assert negotiated_suite(secured.wss_port, tls12_context(tls, suite)) == suite
    for suite in OCPP_SUITES["RSA"]:
        with pytest.raises(ssl.SSLError):
            negotiated_suite(secured.wss_port, tls12_context(tls, suite))
    assert ('"msg":"no RSA server certificate: the OCPP suites that need one cannot be '
            'negotiated (give it with --tls-second-certificate; the chart: gateway.tls.second)"'
            ) in secured.log()


def test_a_second_certificate_of_the_same_key_type_stops_the_start(deployment, tls):
    certificate, key = tls.server("server-ec-2")
    bad = deployment.start_gateway("c", wait_ready=False, tls_second_certificate=certificate,
                                   tls_second_private_key=key, **tls.gateway_flags())
    bad.process.wait(30)
    assert bad.process.returncode != 0
    assert ("--tls-certificate and --tls-second-certificate both hold an ECDSA key"
            in bad.log()), bad.log()[-2000:]


# -- profile 3 ------------------------------------------------------------------------------

def test_profile_3_accepts_a_client_certificate_whose_cn_is_the_charger_id(
        secured, deployment, tls):
    run(heartbeat_over(secured.ws_url("p3-charger", tls=True),
                       ssl=tls.client_context(cn="p3-charger")))
    assert opened_profile(deployment, "p3-charger") == 3


def test_profile_3_refuses_a_certificate_from_an_untrusted_ca_in_the_tls_handshake(secured, tls):
    context = tls.client_context(cn="p3-charger", signed_by="untrusted-ca")
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        upgrade_status(secured.wss_port, "/ocpp/p3-charger", tls_context=context)
    # With TLS 1.3 the client may see the refusal before the gateway has counted it.
    wait_until(lambda: secured.metric("switchyard_gateway_handshakes_refused_total",
                                      reason="tls") == 1, 5, "the refused TLS handshake counted")


def test_profile_3_refuses_a_certificate_for_another_charger_with_401(secured, tls):
    context = tls.client_context(cn="p3-charger")
    assert upgrade_status(secured.wss_port, "/ocpp/p3-other", tls_context=context) == 401
    assert secured.metric("switchyard_gateway_handshakes_refused_total",
                          reason="certificate_mismatch") == 1


def test_profile_3_refuses_a_charger_without_certificate_with_401(secured, tls):
    assert upgrade_status(secured.wss_port, "/ocpp/p3-charger",
                          tls_context=tls.client_context()) == 401


def test_profile_3_refuses_basic_auth_instead_of_a_certificate(secured, tls):
    assert upgrade_status(secured.wss_port, "/ocpp/p3-charger", basic_auth("p3-charger", PASSWORD),
                          tls_context=tls.client_context()) == 401


def test_unknown_charger_is_refused_with_404_over_tls(secured, tls):
    assert upgrade_status(secured.wss_port, "/ocpp/stranger",
                          tls_context=tls.client_context(cn="stranger")) == 404


# -- session resumption ---------------------------------------------------------------------

def upgrade_then_drop(port, context, session=None, charger="p3-charger", status=101):
    """A profile 3 charger's connection, resuming `session` when given, that loses its network
    once answered (`status`: 101 upgraded, or the refusal expected): the TCP connection ends
    without a TLS close_notify. Returns (whether the session was resumed, the session to resume
    next time)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    wrapped = context.wrap_socket(raw, server_hostname="localhost", session=session)
    key = base64.b64encode(os.urandom(16)).decode()
    wrapped.sendall((f"GET /ocpp/{charger} HTTP/1.1\r\nHost: localhost\r\n"
                     "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                     f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n")
                    .encode())
    answer = b""
    while b"\r\n\r\n" not in answer:  # the TLS 1.3 ticket comes before it
        chunk = wrapped.recv(4096)
        assert chunk, "closed before the upgrade was answered"
        answer += chunk
    assert answer.startswith(f"HTTP/1.1 {status}".encode()), answer
    reused, kept = wrapped.session_reused, wrapped.session
    wrapped.shutdown(socket.SHUT_RDWR)  # TCP only: no close_notify
    wrapped.close()
    return reused, kept


def test_a_charger_that_lost_its_network_resumes_its_tls_session(secured, tls):
    """The pod keeps sessions in its own cache (--tls-session-cache, on by default): a charger
    that dropped off without close_notify resumes (no certificate signature, no decoding of
    its certificate from a ticket), the handshakes metric tells resumed from full, and the
    cache holds one session for the charger however often it came back."""
    context = tls.client_context(cn="p3-charger")
    reused, session = upgrade_then_drop(secured.wss_port, context)
    assert not reused
    for _ in range(3):
        reused, session = upgrade_then_drop(secured.wss_port, context, session)
        assert reused
    wait_until(lambda: secured.metric("switchyard_gateway_tls_handshakes_total",
                                      session="resumed") == 3, 5, "3 resumed handshakes counted")
    assert secured.metric("switchyard_gateway_tls_handshakes_total", session="full") == 1
    # Each resumption's new ticket takes the place of the session resumed: one kept, not four.
    assert secured.metric("switchyard_gateway_tls_cached_sessions") == 1


def test_a_refused_chargers_session_leaves_the_cache(secured, tls):
    """A connection refused after its TLS handshake (here 404, a certificate of a charger the
    pod does not know) takes its session out of the cache: chargers refused again and again
    with full handshakes would otherwise fill it (65,536 entries of ~10 KB each with mTLS). Its
    next try cannot resume; the cache holds only the charger that was let in."""
    stranger = tls.client_context(cn="stranger")
    reused, session = upgrade_then_drop(secured.wss_port, stranger, charger="stranger",
                                        status=404)
    assert not reused
    for _ in range(4):
        reused, session = upgrade_then_drop(secured.wss_port, stranger, session,
                                            charger="stranger", status=404)
        assert not reused, "the refused charger's session was still cached"
    wait_until(lambda: secured.metric("switchyard_gateway_tls_cached_sessions") == 0, 5,
               "the refused connections' sessions dropped from the cache")
    reused, _ = upgrade_then_drop(secured.wss_port, tls.client_context(cn="p3-charger"))
    assert not reused
    wait_until(lambda: secured.metric("switchyard_gateway_tls_handshakes_total",
                                      session="full") == 6, 5, "6 full handshakes counted")
    assert secured.metric("switchyard_gateway_tls_cached_sessions") == 1


def test_without_the_session_cache_chargers_resume_from_their_tickets(deployment, tls, tmp_path):
    credentials = tmp_path / "credentials.csv"
    credentials.write_text("p3-charger,3,\n")
    pod = deployment.start_gateway("a", credentials_file=credentials, unknown_charger_profile=-1,
                                   tls_session_cache=0, **tls.gateway_flags())
    context = tls.client_context(cn="p3-charger")
    reused, session = upgrade_then_drop(pod.wss_port, context)
    assert not reused
    reused, session = upgrade_then_drop(pod.wss_port, context, session)
    assert reused


def test_openssl_objects_live_on_the_small_object_heap_unless_turned_off(secured, deployment,
                                                                            tls, tmp_path):
    """--tls-small-objects (on by default): OpenSSL's objects of up to 256 bytes sit on the
    headerless heap, which the metric shows growing with a connection that stays open; with the
    flag off the pod keeps malloc and the metric stays at 0."""
    async def hold_open(url, context, check):
        async with connect(url, ssl=context) as ws:
            assert (await raw_call(ws, "Heartbeat", {}))[0] == 3
            check()

    def heap_bytes(pod):
        return pod.metric("switchyard_gateway_tls_small_object_bytes", kind="objects") or 0

    context = tls.client_context(cn="p3-charger")
    run(hold_open(secured.ws_url("p3-charger", tls=True), context,
                  lambda: wait_until(lambda: heap_bytes(secured) > 0, 5,
                                     "small objects counted after a handshake")))
    assert secured.metric("switchyard_gateway_tls_small_object_bytes", kind="chunks") >= \
        heap_bytes(secured)

    credentials = tmp_path / "credentials.csv"
    credentials.write_text("p3-charger,3,\n")
    plain = deployment.start_gateway("b", credentials_file=credentials,
                                     unknown_charger_profile=-1, tls_small_objects="false",
                                     **tls.gateway_flags())
    run(hold_open(plain.ws_url("p3-charger", tls=True), context, lambda: None))
    assert heap_bytes(plain) == 0


# -- certificates reloaded without a restart --------------------------------------------------

def served_certificate(port, ca):
    """The DER of the certificate a new TLS connection to `port` is served."""
    context = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with context.wrap_socket(sock, server_hostname="localhost") as tls_socket:
            return tls_socket.getpeercert(binary_form=True)


def der_of(pem_path):
    return ssl.PEM_cert_to_DER_cert(Path(pem_path).read_text())


def test_clients_gone_right_after_the_tls_handshake_do_not_bring_the_pod_down(secured, tls):
    """A TLS 1.3 client (a load balancer's TLS probe, a scanner) that closes as soon as its
    handshake is done: the pod's session ticket meets a closed socket (EPIPE). The pod goes on
    (SIGPIPE once ended the process)."""
    for _ in range(5):
        served_certificate(secured.wss_port, tls.ca)
    time.sleep(0.5)
    assert served_certificate(secured.wss_port, tls.ca) == der_of(tls.server_certificate)
    assert secured.http_get("/healthz")[0] == 200
    run(heartbeat_over(secured.ws_url("p3-charger", tls=True),
                       ssl=tls.client_context(cn="p3-charger")))


def test_renewed_certificates_are_picked_up_without_a_restart_and_open_connections_stay(
        deployment, tls, tmp_path):
    """cert-manager renews the server certificate and the operator adds a second client CA: the
    files change under the running pod, which serves them to new connections within the reload
    interval; a charger connected before keeps its connection. A broken file is refused and the
    current certificates stay in use."""
    live_certificate, live_key = tmp_path / "tls.crt", tmp_path / "tls.key"
    live_ca = tmp_path / "ca.crt"
    shutil.copy(tls.server_certificate, live_certificate)
    shutil.copy(tls.server_key, live_key)
    shutil.copy(tls.ca, live_ca)
    credentials = tmp_path / "credentials.csv"
    credentials.write_text("p3-charger,3,\np3-other,3,\n")
    gateway = deployment.start_gateway(
        "a", credentials_file=credentials, unknown_charger_profile=-1,
        tls_certificate=live_certificate, tls_private_key=live_key, tls_client_ca=live_ca,
        tls_reload_interval=200)
    assert served_certificate(gateway.wss_port, tls.ca) == der_of(tls.server_certificate)
    assert gateway.metric("switchyard_gateway_tls_certificate_expiry_seconds") > time.time()
    renewed_certificate, renewed_key = tls.server("renewed")
    other_cn = tls.client("p3-other", signed_by="untrusted-ca")

    async def scenario():
        async with connect(gateway.ws_url("p3-charger", tls=True),
                           ssl=tls.client_context(cn="p3-charger")) as before:
            # Renewed: key first, then the certificate (a half-written pair fails and is retried).
            shutil.copy(renewed_key, live_key)
            shutil.copy(renewed_certificate, live_certificate)
            await eventually(lambda: served_certificate(gateway.wss_port, tls.ca) ==
                             der_of(renewed_certificate), 10, "the renewed certificate served")
            # The charger connected before the renewal goes on.
            assert (await raw_call(before, "Heartbeat", {}))[0] == 3
            # A second client CA: chargers it signed get in now.
            loaded = gateway.metric("switchyard_gateway_tls_loads_total", result="ok")
            live_ca.write_text(Path(tls.ca).read_text() + Path(tls.untrusted_ca).read_text())
            await eventually(lambda: gateway.metric("switchyard_gateway_tls_loads_total",
                                                    result="ok") > loaded, 10, "the CA reloaded")
            context = ssl.create_default_context(cafile=str(tls.ca))
            context.load_cert_chain(*map(str, other_cn))
            assert upgrade_status(gateway.wss_port, "/ocpp/p3-other", tls_context=context) == 101
            # A broken certificate file is refused; the renewed one stays in use.
            failed = gateway.metric("switchyard_gateway_tls_loads_total", result="failed")
            live_certificate.write_text("-----BEGIN CERTIFICATE-----\nbroken\n")
            await eventually(lambda: gateway.metric("switchyard_gateway_tls_loads_total",
                                                    result="failed") > failed, 10, "refused")
            assert served_certificate(gateway.wss_port, tls.ca) == der_of(renewed_certificate)
            assert (await raw_call(before, "Heartbeat", {}))[0] == 3

    run(scenario())
    log = gateway.log()
    assert '"msg":"tls files reloaded; new connections use them"' in log
    assert '"msg":"tls files changed but cannot be loaded; the current ones stay in use"' in log
