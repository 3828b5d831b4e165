"""Charger certificates (OCPP 2.0.1 / 2.1 A02-A03, 1.6 security extension): a charger sends
SignCertificate with a CSR, the CSMS answers Accepted once the auth service's CA has signed it and
then sends the chain in CertificateSigned; with that certificate the charger connects with
security profile 3 (TLS client certificate). Refusals are Rejected with the reason (2.x
statusInfo) and no CertificateSigned follows.

Against switchyard-standalone (the CA from --ca-certificate / --ca-key, TLS material from
testkit's openssl-made CA) and once through the distributed stack (gateway -> Authorization gRPC
of switchyard-auth). CSRs are made with the openssl CLI; the chain is checked with
`openssl verify -purpose sslclient`.
"""

import asyncio
import json
import ssl
import subprocess
import time

import pytest

from servicekit import Standalone, run
from testkit import basic_auth, connect, free_port, tls  # noqa: F401  (tls: the fixture)

PASSWORD = "charger secret for profile 2"


def make_csr(directory, name, subject, key_args=("ec", "-pkeyopt", "ec_paramgen_curve:P-256")):
    """(csr PEM text, key path) of a new key with `subject` (e.g. "/CN=cp-1/O=Acme")."""
    key, csr = directory / f"{name}.key", directory / f"{name}.csr"
    subprocess.run(["openssl", "req", "-new", "-newkey", *key_args, "-nodes", "-keyout", str(key),
                    "-out", str(csr), "-subj", subject], check=True, capture_output=True)
    return csr.read_text(), key


def verify_chain(directory, ca, chain, name="chain"):
    """`openssl verify` of the chain's first certificate against `ca` as a TLS client cert."""
    path = directory / f"{name}.pem"
    path.write_text(chain)
    done = subprocess.run(["openssl", "verify", "-CAfile", str(ca), "-purpose", "sslclient",
                           str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    subject = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253",
                              "-in", str(path)], capture_output=True, text=True, check=True)
    return path, subject.stdout.strip()


async def sign_certificate(ws, payload, wait_for_signed=10.0):
    """Sends SignCertificate; returns (its answer payload, the CertificateSigned payload or None).
    Answers CertificateSigned with Accepted."""
    await ws.send(json.dumps([2, "sign-1", "SignCertificate", payload]))
    answer, signed = None, None
    deadline = time.monotonic() + wait_for_signed
    while time.monotonic() < deadline and (answer is None or signed is None):
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        except asyncio.TimeoutError:
            break
        if frame[0] == 3 and frame[1] == "sign-1":
            answer = frame[2]
            if answer.get("status") != "Accepted":
                wait_for_signed = 1.0  # a refusal: make sure nothing follows for a moment
                deadline = min(deadline, time.monotonic() + wait_for_signed)
        elif frame[0] == 4 and frame[1] == "sign-1":
            raise AssertionError(f"SignCertificate answered with a CALLERROR: {frame}")
        elif frame[0] == 2 and frame[2] == "CertificateSigned":
            assert answer is not None, "CertificateSigned came before the SignCertificate answer"
            signed = frame[3]
            await ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))
    return answer, signed


@pytest.fixture
def certified(tmp_path, tls):  # noqa: F811
    """A standalone that signs with testkit's CA and trusts it for profile 3, over ws and wss."""
    wss_port = free_port()
    s = Standalone(tmp_path, wss_port=wss_port, ca_certificate=tls.ca,
                   ca_key=tls.ca.with_suffix(".key"), ca_organization="Switchyard Test CPO",
                   ca_validity_days=30, **tls.gateway_flags())
    s.wss_port = wss_port
    try:
        yield s.start()
    finally:
        s.stop()
        s.print_logs()


def wss_url(csms, charger_id):
    return f"wss://127.0.0.1:{csms.wss_port}/ocpp/{charger_id}"


def over_profile_2(csms, tls, tmp_path, charger, protocol):  # noqa: F811
    """Registers `charger` with security profile 2 and connects it over wss with Basic auth:
    where a charger asks for its first certificate."""
    password_file = tmp_path / f"{charger}.password"
    password_file.write_text(PASSWORD)
    csms.ctl("chargers", "register", charger, "--security-profile", "2",
             "--password-file", password_file)
    return connect(wss_url(csms, charger), (protocol,), ssl=tls.client_context(),
                   extra_headers=basic_auth(charger, PASSWORD))


def test_a_charger_gets_its_csr_signed_and_connects_with_it_over_profile_3(
        certified, tls, tmp_path):  # noqa: F811
    charger = "cp-cert-1"
    csr, key = make_csr(tmp_path, "cp1", f"/O=Switchyard Test CPO/CN={charger}")

    async def first_certificate():
        async with over_profile_2(certified, tls, tmp_path, charger, "ocpp2.0.1") as ws:
            return await sign_certificate(
                ws, {"csr": csr, "certificateType": "ChargingStationCertificate"})

    answer, signed = run(first_certificate())
    assert answer == {"status": "Accepted"}, answer
    assert signed is not None, "no CertificateSigned after an accepted SignCertificate"
    assert signed.get("certificateType") == "ChargingStationCertificate", signed
    chain, subject = verify_chain(tmp_path, tls.ca, signed["certificateChain"])
    assert subject == f"subject=CN={charger},O=Switchyard Test CPO", subject

    # The operator moves the charger to profile 3; it comes back with its new certificate.
    certified.ctl("chargers", "register", charger, "--security-profile", "3")
    context = ssl.create_default_context(cafile=str(tls.ca))
    context.load_cert_chain(str(chain), str(key))

    async def over_profile_3():
        async with connect(wss_url(certified, charger), ("ocpp2.0.1",), ssl=context) as ws:
            await ws.send(json.dumps([2, "hb", "Heartbeat", {}]))
            return json.loads(await asyncio.wait_for(ws.recv(), 10))

    frame = run(over_profile_3())
    assert frame[0] == 3 and "currentTime" in frame[2], frame
    log = certified.process.log()
    assert '"msg":"charger certificate signed"' in log and f'"charger_id":"{charger}"' in log
    assert '"security_profile":3' in log, "the second connection was not profile 3"
    process = certified.process
    assert process.metric("switchyard_gateway_certificates_total", step="sign",
                          result="accepted") == 1
    assert process.metric("switchyard_gateway_certificates_total", step="deliver",
                          result="Accepted") == 1
    assert process.metric("switchyard_auth_decisions_total", kind="sign_certificate",
                          result="signed") == 1


@pytest.mark.parametrize("case", ["other_cn", "other_organization", "weak_rsa", "not_pem",
                                  "v2g"])
def test_a_csr_the_ca_will_not_sign_is_rejected_with_the_reason_and_nothing_follows(
        certified, tls, tmp_path, case):  # noqa: F811
    charger = f"cp-refused-{case.replace('_', '-')}"
    organization = "/O=Switchyard Test CPO"
    payload, expected = {
        "other_cn": (lambda: {"csr": make_csr(tmp_path, case, f"{organization}/CN=cp-else")[0]},
                     ("InvalidCSR", 'common name is "cp-else", not the charger\'s id')),
        "other_organization": (lambda: {"csr": make_csr(tmp_path, case,
                                                        f"/O=Mallory/CN={charger}")[0]},
                               ("InvalidCSR", 'organization is "Mallory"')),
        "weak_rsa": (lambda: {"csr": make_csr(tmp_path, case, f"{organization}/CN={charger}",
                                              ("rsa:1024",))[0]},
                     ("InvalidCSR", "1024 bits")),
        "not_pem": (lambda: {"csr": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"},
                    ("InvalidCSR", "not a PEM certificate request")),
        "v2g": (lambda: {"csr": make_csr(tmp_path, case, f"{organization}/CN={charger}")[0],
                         "certificateType": "V2GCertificate"},
                ("NotConfigured", "V2GCertificate")),
    }[case]

    async def scenario():
        async with over_profile_2(certified, tls, tmp_path, charger, "ocpp2.0.1") as ws:
            return await sign_certificate(ws, payload())

    answer, signed = run(scenario())
    assert signed is None, f"CertificateSigned after a refusal: {signed}"
    assert answer["status"] == "Rejected", answer
    code, why = expected
    assert answer["statusInfo"]["reasonCode"] == code, answer
    assert why in answer["statusInfo"]["additionalInfo"], answer
    assert certified.process.metric("switchyard_gateway_certificates_total", step="sign",
                                    result="rejected") == 1
    assert '"msg":"SignCertificate rejected"' in certified.process.log()


def make_v2g_root(directory):
    """(certificate, key) of a V2G root CA on P-256, as an ISO 15118 PKI has one."""
    key, certificate = directory / "v2g-root.key", directory / "v2g-root.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out",
                    str(certificate), "-days", "30", "-subj", "/CN=Switchyard Test V2G Root/DC=V2G",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                   check=True, capture_output=True)
    return certificate, key


def test_a_v2g_csr_is_signed_by_the_v2g_ca_and_only_for_an_iso_15118_key(tls, tmp_path):  # noqa
    """A 2.0.1 charger asks for its ISO 15118 SECC certificate (certificateType V2GCertificate):
    the V2G CA (--v2g-ca-*), not the charger CA, signs it, and CertificateSigned says
    V2GCertificate. An RSA key is refused as InvalidCSR, naming ISO 15118."""
    v2g_root, v2g_key = make_v2g_root(tmp_path)
    wss_port = free_port()
    csms = Standalone(tmp_path, wss_port=wss_port, ca_certificate=tls.ca,
                      ca_key=tls.ca.with_suffix(".key"), v2g_ca_certificate=v2g_root,
                      v2g_ca_key=v2g_key, v2g_ca_organization="Switchyard Test CPO",
                      v2g_ca_validity_days=30, **tls.gateway_flags())
    csms.wss_port = wss_port
    csms.start()
    try:
        charger = "cp-v2g"
        secc = "DE*SWY*E1234*1"
        csr, _ = make_csr(tmp_path, "secc", f"/O=Switchyard Test CPO/CN={secc}")
        rsa_csr, _ = make_csr(tmp_path, "secc-rsa", f"/O=Switchyard Test CPO/CN={secc}",
                              ("rsa:2048",))

        async def scenario():
            async with over_profile_2(csms, tls, tmp_path, charger, "ocpp2.0.1") as ws:
                good = await sign_certificate(ws, {"csr": csr, "certificateType": "V2GCertificate"})
                bad = await sign_certificate(ws, {"csr": rsa_csr,
                                                  "certificateType": "V2GCertificate"})
                return good, bad

        (answer, signed), (refused, nothing) = run(scenario())
        assert answer == {"status": "Accepted"}, answer
        assert signed is not None and signed.get("certificateType") == "V2GCertificate", signed
        chain = tmp_path / "secc-chain.pem"
        chain.write_text(signed["certificateChain"])
        under_v2g = subprocess.run(["openssl", "verify", "-CAfile", str(v2g_root), str(chain)],
                                   capture_output=True, text=True)
        assert under_v2g.returncode == 0, under_v2g.stdout + under_v2g.stderr
        under_charger_ca = subprocess.run(["openssl", "verify", "-CAfile", str(tls.ca),
                                           str(chain)], capture_output=True, text=True)
        assert under_charger_ca.returncode != 0, "the charger CA signed an SECC certificate"
        subject = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253",
                                  "-in", str(chain)], capture_output=True, text=True, check=True)
        assert subject.stdout.strip() == f"subject=DC=CPO,CN={secc},O=Switchyard Test CPO", \
            subject.stdout

        assert nothing is None, f"CertificateSigned after a refusal: {nothing}"
        assert refused["status"] == "Rejected", refused
        assert refused["statusInfo"]["reasonCode"] == "InvalidCSR", refused
        assert "ISO 15118" in refused["statusInfo"]["additionalInfo"], refused
        log = csms.process.log()
        assert '"certificate_type":"V2GCertificate"' in log
        assert csms.process.metric("switchyard_auth_decisions_total", kind="sign_certificate",
                                   result="signed") == 1
    finally:
        csms.stop()
        csms.print_logs()


def test_a_16_charger_gets_its_certificate_through_the_security_extension(
        certified, tls, tmp_path):  # noqa: F811
    charger = "cp-cert-16"
    csr, _ = make_csr(tmp_path, "cp16", f"/O=Switchyard Test CPO/CN={charger}")

    async def scenario():
        async with over_profile_2(certified, tls, tmp_path, charger, "ocpp1.6") as ws:
            await ws.send(json.dumps([2, "boot", "BootNotification",
                                      {"chargePointVendor": "Acme", "chargePointModel": "S"}]))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))[2]["status"] == "Accepted"
            return await sign_certificate(ws, {"csr": csr})

    answer, signed = run(scenario())
    assert answer == {"status": "Accepted"}, answer
    assert set(signed) == {"certificateChain"}, signed  # the 1.6 CertificateSigned
    verify_chain(tmp_path, tls.ca, signed["certificateChain"])


def test_a_charger_without_tls_gets_no_certificate(certified, tmp_path):
    """Profile 0 or 1 (a password over plain ws) is no ground for a profile 3 certificate."""
    charger = "cp-plain"
    certified.ctl("chargers", "register", charger, "--security-profile", "0")
    csr, _ = make_csr(tmp_path, "plain", f"/O=Switchyard Test CPO/CN={charger}")

    async def scenario():
        async with connect(certified.ws_url(charger), ("ocpp2.0.1",)) as ws:
            return await sign_certificate(ws, {"csr": csr})

    answer, signed = run(scenario())
    assert signed is None
    assert answer["status"] == "Rejected", answer
    assert answer["statusInfo"]["reasonCode"] == "SecurityProfile", answer
    assert "profile 2 or higher; this connection has profile 0" in \
        answer["statusInfo"]["additionalInfo"], answer
    assert certified.process.metric("switchyard_auth_decisions_total",
                                    kind="sign_certificate") == 0  # never reached the CA


def root_hash(directory, ca, name):
    """OCPP's CertificateHashData of the self-signed `ca`, from OpenSSL's OCSP CertID of it
    (RFC 6960: hashes of the issuer's DER name and public key, and the serial)."""
    request = directory / f"{name}.ocsp"
    subprocess.run(["openssl", "ocsp", "-issuer", str(ca), "-sha256", "-cert", str(ca),
                    "-no_nonce", "-reqout", str(request)], check=True, capture_output=True)
    text = subprocess.run(["openssl", "ocsp", "-reqin", str(request), "-req_text"], check=True,
                          capture_output=True, text=True).stdout
    fields = dict(line.strip().split(": ", 1) for line in text.splitlines()
                  if line.strip().startswith(("Issuer Name Hash", "Issuer Key Hash",
                                              "Serial Number")))
    return {"hashAlgorithm": "SHA256", "issuerNameHash": fields["Issuer Name Hash"],
            "issuerKeyHash": fields["Issuer Key Hash"], "serialNumber": fields["Serial Number"]}


@pytest.mark.parametrize("root", ["ours", "another"])
def test_a_21_charger_names_the_root_to_sign_under(certified, tls, tmp_path, root):  # noqa: F811
    """2.1 hashRootCertificate: signed under our root when it names it; Rejected (NotFound,
    naming ours) when it names another, and nothing follows."""
    charger = f"cp-root-{root}"
    csr, _ = make_csr(tmp_path, root, f"/O=Switchyard Test CPO/CN={charger}")
    ca = tls.ca
    if root == "another":
        ca = tmp_path / "other-root.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(tmp_path / "o.key"),
                        "-out", str(ca), "-subj", "/CN=Someone Else Root", "-days", "2"],
                       check=True, capture_output=True)

    async def scenario():
        async with over_profile_2(certified, tls, tmp_path, charger, "ocpp2.1") as ws:
            return await sign_certificate(ws, {
                "csr": csr, "certificateType": "ChargingStationCertificate", "requestId": 7,
                "hashRootCertificate": root_hash(tmp_path, ca, root)})

    answer, signed = run(scenario())
    if root == "ours":
        assert answer == {"status": "Accepted"}, answer
        verify_chain(tmp_path, tls.ca, signed["certificateChain"])
        return
    assert signed is None, signed
    assert answer["status"] == "Rejected" and answer["statusInfo"]["reasonCode"] == "NotFound", \
        answer
    assert "names a root this CSMS does not sign under" in \
        answer["statusInfo"]["additionalInfo"], answer
    assert certified.process.metric("switchyard_auth_decisions_total", kind="sign_certificate",
                                    result="refused") == 1


async def answer_calls(ws, answers, calls):
    """Answers each CALL the CSMS sends with answers[action] (recording [action, payload] in
    `calls`) until cancelled."""
    while True:
        frame = json.loads(await ws.recv())
        if frame[0] == 2:
            calls.append([frame[2], frame[3]])
            await ws.send(json.dumps([3, frame[1], answers[frame[2]]]))


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
def test_an_operator_manages_a_chargers_root_certificates(certified, tls, protocol):  # noqa: F811
    """Typed ChargerControl RPCs (switchyardctl charger ID install-certificate /
    get-installed-certificate-ids / delete-certificate) speak each version's names; a type the
    version lacks is refused before anything is sent."""
    charger = f"cp-roots-{protocol[4:].replace('.', '')}"
    certified.ctl("chargers", "register", charger, "--security-profile", "0")
    pem = tls.ca.read_text()
    hash_data = {"hashAlgorithm": "SHA256", "issuerNameHash": "0a1b", "issuerKeyHash": "2c3d",
                 "serialNumber": "7f"}
    if protocol == "ocpp1.6":
        listed = {"status": "Accepted", "certificateHashData": [hash_data]}
    else:
        listed = {"status": "Accepted", "certificateHashDataChain": [
            {"certificateType": "CSMSRootCertificate", "certificateHashData": hash_data}]}
    answers = {"InstallCertificate": {"status": "Accepted"},
               "GetInstalledCertificateIds": listed,
               "DeleteCertificate": {"status": "Accepted"}}
    calls, results = [], {}

    def operator():
        ctl = certified.ctl
        results["install"] = ctl.json("charger", charger, "install-certificate",
                                      "--certificate-type", "csms-root",
                                      "--certificate-pem", pem)
        results["list"] = ctl.json("charger", charger, "get-installed-certificate-ids",
                                   "--certificate-types", "csms-root")
        results["delete"] = ctl.json("charger", charger, "delete-certificate", "--json",
                                     json.dumps({"hash": {
                                         "issuerNameHash": "0a1b", "issuerKeyHash": "2c3d",
                                         "serialNumber": "7f"}}))
        results["v2g"] = ctl.run("charger", charger, "install-certificate",
                                 "--certificate-type", "v2g-root", "--certificate-pem", pem)

    async def scenario():
        async with connect(certified.ws_url(charger), (protocol,)) as ws:
            answering = asyncio.create_task(answer_calls(ws, answers, calls))
            try:
                await asyncio.to_thread(operator)
            finally:
                answering.cancel()

    run(scenario())
    csms_root = "CentralSystemRootCertificate" if protocol == "ocpp1.6" else "CSMSRootCertificate"
    # On 1.6 the V2G root never leaves the CSMS; 2.0.1 gets it as its own type.
    assert [c[0] for c in calls] == ["InstallCertificate", "GetInstalledCertificateIds",
                                     "DeleteCertificate"] + (
        [] if protocol == "ocpp1.6" else ["InstallCertificate"]), calls
    assert calls[0][1] == {"certificateType": csms_root, "certificate": pem}, calls[0]
    assert calls[1][1] == ({"certificateType": csms_root} if protocol == "ocpp1.6"
                           else {"certificateType": [csms_root]}), calls[1]
    assert calls[2][1] == {"certificateHashData": hash_data}, calls[2]
    assert results["install"]["outcome"]["status"] == "Accepted", results
    installed = results["list"]["certificates"]
    assert len(installed) == 1 and installed[0]["certificateType"] == \
        "CERTIFICATE_TYPE_CSMS_ROOT" and installed[0]["hash"]["serialNumber"] == "7f", results
    assert results["delete"]["outcome"]["status"] == "Accepted", results
    v2g = results["v2g"]
    if protocol == "ocpp1.6":
        assert v2g.returncode != 0 and "UNIMPLEMENTED" in v2g.stderr and \
            "a V2G root certificate does not exist in OCPP 1.6" in v2g.stderr, v2g.stderr
    else:
        assert v2g.returncode == 0, v2g.stderr
        assert calls[3][1]["certificateType"] == "V2GRootCertificate", calls[3]


def test_without_a_ca_signcertificate_is_rejected_not_an_error(tmp_path):
    """--certificate-signing-min-profile 0 lets a plain-ws charger ask (a lab); no CA: Rejected."""
    standalone = Standalone(tmp_path, certificate_signing_min_profile=0).start()
    try:
        csr, _ = make_csr(tmp_path, "no-ca", "/CN=cp-no-ca")

        async def scenario():
            async with connect(standalone.ws_url("cp-no-ca"), ("ocpp2.1",)) as ws:
                return await sign_certificate(ws, {"csr": csr, "requestId": 4})

        answer, signed = run(scenario())
        assert signed is None
        assert answer["status"] == "Rejected" and \
            answer["statusInfo"]["reasonCode"] == "NotConfigured", answer
        assert standalone.process.metric("switchyard_auth_decisions_total",
                                         kind="sign_certificate", result="no_ca") == 1
    finally:
        standalone.stop()
        standalone.print_logs()


def test_the_distributed_gateway_asks_the_auth_services_ca(stack_factory, tls, tmp_path):  # noqa
    stack = stack_factory.start(auth_flags={"ca-certificate": tls.ca,
                                            "ca-key": tls.ca.with_suffix(".key")},
                                certificate_signing_min_profile=0)
    charger = "cp-cert-dist"
    stack.ctl("chargers", "register", charger, "--security-profile", "0")
    csr, _ = make_csr(tmp_path, "dist", f"/CN={charger}")

    async def scenario():
        async with connect(stack.ws_url(charger), ("ocpp2.1",)) as ws:
            return await sign_certificate(ws, {"csr": csr, "requestId": 11})

    answer, signed = run(scenario())
    assert answer == {"status": "Accepted"}, answer
    assert signed["requestId"] == 11, signed  # 2.1 echoes the request id
    verify_chain(tmp_path, tls.ca, signed["certificateChain"])
    assert stack.gateway.metric("switchyard_gateway_certificates_total", step="deliver",
                                result="Accepted") == 1
    assert stack.auth.metric("switchyard_auth_decisions_total", kind="sign_certificate",
                             result="signed") == 1
    # The charger's SignCertificate and its answer to CertificateSigned are on the events topic.
    events = stack.deployment.events(charger, count=4)
    actions = [e.get("action") for e in events]
    assert "SignCertificate" in actions and "CertificateSigned" in actions, actions
