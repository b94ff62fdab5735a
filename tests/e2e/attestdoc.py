"""Attestation documents for the tests of eifkit attest, signed by a test
CA made here (python3-cryptography, python3-cbor2), laid out as the Nitro
Secure Module writes them: COSE_Sign1 [protected {1: -35}, {}, payload,
r || s], payload {module_id, digest, timestamp, pcrs, certificate,
cabundle, public_key, user_data, nonce}. The real AWS root cannot sign
test documents, so tests pass the test root with --root; every genuine
check (root pin, chain order, time, signature) runs on them unchanged."""
import datetime

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import \
    decode_dss_signature
from cryptography.x509.oid import NameOID

TS_MS = 1735689600123  # 2025-01-01T00:00:00.123Z
TS = datetime.datetime.fromtimestamp(TS_MS // 1000, datetime.timezone.utc)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, key, issuer, issuer_key, ca, start, end):
    b = (x509.CertificateBuilder()
         .subject_name(_name(subject)).issuer_name(_name(issuer))
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(end)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                        critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(
             key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             issuer_key.public_key()), critical=False))
    if ca:
        b = b.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    return b.sign(issuer_key, hashes.SHA384())


class Chain:
    """A root, n intermediates and a leaf living 3 hours around TS."""

    def __init__(self, intermediates=2, root_cn="test-root"):
        day = datetime.timedelta(days=1)
        self.root_key = ec.generate_private_key(ec.SECP384R1())
        self.root = _cert(root_cn, self.root_key, root_cn, self.root_key,
                          True, TS - 365 * day, TS + 365 * day)
        self.cas = [self.root]
        parent, parent_key, parent_cn = self.root, self.root_key, root_cn
        for i in range(intermediates):
            k = ec.generate_private_key(ec.SECP384R1())
            cn = f"test-intermediate-{i}"
            c = _cert(cn, k, parent_cn, parent_key, True, TS - 10 * day,
                      TS + 10 * day)
            self.cas.append(c)
            parent, parent_key, parent_cn = c, k, cn
        self.leaf_key = ec.generate_private_key(ec.SECP384R1())
        minute = datetime.timedelta(minutes=1)
        self.leaf = _cert("test-leaf", self.leaf_key, parent_cn, parent_key,
                          False, TS - minute, TS + 180 * minute)

    def root_pem(self):
        return self.root.public_bytes(serialization.Encoding.PEM)

    def der(self, c):
        return c.public_bytes(serialization.Encoding.DER)


def payload(chain, pcrs, nonce=None, user_data=None, public_key=None,
            module_id="i-0123456789abcdef0-enc0123456789abcdef",
            timestamp=TS_MS):
    """The payload as a dict in the NSM's key order; pcrs {index: bytes},
    the others all zero, 16 in all as the NSM writes them."""
    full = {i: bytes(48) for i in range(16)}
    full.update(pcrs)
    return {
        "module_id": module_id,
        "digest": "SHA384",
        "timestamp": timestamp,
        "pcrs": full,
        "certificate": chain.der(chain.leaf),
        "cabundle": [chain.der(c) for c in chain.cas],
        "public_key": public_key,
        "user_data": user_data,
        "nonce": nonce,
    }


def sign(chain, payload_bytes, protected=b"\xa1\x01\x38\x22", tagged=False,
         key=None):
    """COSE_Sign1 over payload_bytes with the leaf key (or key)."""
    tbs = cbor2.dumps(["Signature1", protected, b"", payload_bytes])
    der = (key or chain.leaf_key).sign(tbs, ec.ECDSA(hashes.SHA384()))
    r, s = decode_dss_signature(der)
    sig = r.to_bytes(48, "big") + s.to_bytes(48, "big")
    arr = [protected, {}, payload_bytes, sig]
    if tagged:
        return cbor2.dumps(cbor2.CBORTag(18, arr))
    return cbor2.dumps(arr)


def document(chain, pcrs, **kw):
    tagged = kw.pop("tagged", False)
    return sign(chain, cbor2.dumps(payload(chain, pcrs, **kw)),
                tagged=tagged)


def other_root():
    """A self-signed P-384 root that signed nothing here."""
    return Chain(intermediates=0, root_cn="other-root").root_pem()
